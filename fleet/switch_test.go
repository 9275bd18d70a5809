package fleet_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/fleet"
	"github.com/opsbot/opsbot/fleet/fleettest"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// pair is a blue-green app "api" on two real instance servers.
type pair struct {
	blue, green *fleettest.Server
	cfg         fleet.Config
}

func newPair(t *testing.T) *pair {
	p := &pair{blue: fleettest.Start(t), green: fleettest.Start(t)}
	p.blue.SetVersion("1.4.2")
	p.green.SetVersion("1.5.0")
	p.cfg = fleet.Config{
		Timeout: 300 * time.Millisecond,
		Apps:    map[string]*fleet.App{"api": {Aliases: []string{"master"}}},
		List: []fleet.Instance{
			{Name: "api-blue", App: "api", Role: "blue", Env: "production", Health: p.blue.Health(), Version: p.blue.Version()},
			{Name: "api-green", App: "api", Role: "green", Env: "production", Health: p.green.Health(), Version: p.green.Version()},
		},
	}
	return p
}

func (p *pair) fleet(t *testing.T, db *sql.DB) *fleet.Fleet {
	require.NoError(t, p.cfg.Validate())
	return fleet.New(fleet.Options{Config: p.cfg, DB: db, Clock: clock.NewFake(t0)})
}

func TestSwitchThroughTheLoadBalancer(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		p := newPair(t)
		lb := startLB(t, "blue")
		p.cfg.Apps["api"].Active = &fleet.Source{URL: lb.URL + "/active", Field: "backend.colour"}
		p.cfg.Apps["api"].Switch = &fleet.Action{HTTP: &fleet.HTTPCall{URL: lb.URL + "/switch/{colour}",
			Headers: map[string]config.Secret{"Authorization": "Bearer lb-token"}}}
		f := p.fleet(t, db)

		c, err := f.ActiveColour(ctx, "master")
		require.NoError(t, err)
		assert.Equal(t, "blue", c)

		// An unhealthy target is refused before anything moves.
		p.green.Set(fleettest.Unhealthy)
		_, err = f.SwitchTo(ctx, "api", "green", "alice")
		require.ErrorIs(t, err, fleet.ErrRefused)
		assert.Equal(t, "switch refused: green is not healthy, so api stays on blue: api-green is down (HTTP 503, status fail)", err.Error())
		assert.Empty(t, lb.switched(), "the load balancer was not asked")
		p.green.Set(fleettest.Hanging)
		_, err = f.SwitchTo(ctx, "api", "green", "alice")
		assert.ErrorContains(t, err, "api-green is down (no answer within 300ms)")

		p.green.Set(fleettest.Healthy)
		sw, err := f.SwitchTo(ctx, "api", "green", "alice")
		require.NoError(t, err)
		assert.Equal(t, "blue", sw.From)
		assert.Equal(t, "green", sw.To)
		assert.Equal(t, "pool api now on green", sw.Action.Output)
		assert.Equal(t, "green", lb.active())
		rec, ok, err := f.Store().Active(ctx, "api")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, fleet.Active{App: "api", Colour: "green", Previous: "blue", ChangedBy: "alice", ChangedAt: t0}, rec)

		_, err = f.SwitchTo(ctx, "api", "GREEN", "bob")
		assert.ErrorIs(t, err, fleet.ErrAlreadyActive)

		sw, err = f.SwitchBack(ctx, "api", "bob")
		require.NoError(t, err)
		assert.Equal(t, "blue", sw.To)
		assert.Equal(t, "blue", lb.active())
		assert.Equal(t, "green,blue", lb.switched())

		// A load balancer that does not move is caught by the verification.
		lb.set(func(lb *loadBalancer) { lb.stuck = true })
		_, err = f.SwitchTo(ctx, "api", "green", "alice")
		require.ErrorIs(t, err, fleet.ErrVerify)
		assert.Contains(t, err.Error(), "api was switched to green, but the active colour still reads blue")

		_, err = f.SwitchTo(ctx, "api", "purple", "alice")
		assert.EqualError(t, err, `switch refused: "purple" is not a colour of api (colours: blue, green)`)
		_, err = f.SwitchTo(ctx, "shop", "blue", "alice")
		assert.ErrorIs(t, err, fleet.ErrNotBlueGreen)
	})
}

func TestSwitchKeptByOpsbot(t *testing.T) {
	ctx := context.Background()
	p := newPair(t)
	db := openDB(t, "")

	f := p.fleet(t, db)
	_, err := f.ActiveColour(ctx, "api")
	assert.EqualError(t, err, "no active colour of api is known yet: switch it once, or set instances.apps.api.initial")
	_, err = f.SwitchBack(ctx, "api", "alice")
	assert.EqualError(t, err, "switch refused: opsbot has not switched api yet, so there is no colour to go back to")

	p.cfg.Apps["api"].Initial = "blue"
	script, err := filepath.Abs("testdata/record.sh")
	require.NoError(t, err)
	p.cfg.Apps["api"].Switch = &fleet.Action{Argv: []string{script, "{app}", "{from}", "{colour}"}}
	f = p.fleet(t, db)
	c, err := f.ActiveColour(ctx, "api")
	require.NoError(t, err)
	assert.Equal(t, "blue", c)
	other, err := f.Other(ctx, "api")
	require.NoError(t, err)
	assert.Equal(t, "green", other)

	sw, err := f.SwitchTo(ctx, "api", "green", "alice")
	require.NoError(t, err)
	assert.Contains(t, sw.Action.Output, "arg: api\narg: blue\narg: green")
	c, err = f.ActiveColour(ctx, "api")
	require.NoError(t, err)
	assert.Equal(t, "green", c, "kept by opsbot")

	// No switch action: only the record moves.
	p.cfg.Apps["api"].Switch = nil
	f = p.fleet(t, db)
	sw, err = f.SwitchBack(ctx, "api", "bob")
	require.NoError(t, err)
	assert.True(t, sw.Kept)
	c, _ = f.ActiveColour(ctx, "api")
	assert.Equal(t, "blue", c)
}

func TestActiveColourFromAProgram(t *testing.T) {
	p := newPair(t)
	p.cfg.Apps["api"].Active = &fleet.Source{Argv: []string{"/bin/echo", " Green "}}
	f := p.fleet(t, openDB(t, ""))
	c, err := f.ActiveColour(context.Background(), "api")
	require.NoError(t, err)
	assert.Equal(t, "green", c)

	p.cfg.Apps["api"].Active = &fleet.Source{Argv: []string{"/bin/echo", "purple"}}
	f = p.fleet(t, openDB(t, ""))
	_, err = f.ActiveColour(context.Background(), "api")
	assert.EqualError(t, err, `the active colour of api reads "purple", which is no role of its instances (blue, green)`)
}

func TestPlatform(t *testing.T) {
	ctx := context.Background()
	p := newPair(t)
	lb := startLB(t, "green")
	p.cfg.Apps["api"].Active = &fleet.Source{URL: lb.URL + "/active", Field: "backend.colour"}
	cron := fleettest.Start(t)
	p.cfg.List = append(p.cfg.List, fleet.Instance{Name: "reports", Env: "staging", Health: cron.Health(), Serving: true})
	f := p.fleet(t, openDB(t, ""))

	p.blue.Set(fleettest.Unhealthy)
	r, err := f.Platform(ctx, "")
	require.NoError(t, err)
	require.Len(t, r.Rows, 3)
	assert.Equal(t, fleet.Down, r.Rows[0].Status.State)
	assert.False(t, r.Rows[0].Active)
	assert.Equal(t, fleet.Up, r.Rows[1].Status.State)
	assert.Equal(t, "1.5.0", r.Rows[1].Status.Version)
	assert.True(t, r.Rows[1].Active)
	assert.True(t, r.Rows[2].Active, "serving")
	assert.Equal(t, map[fleet.State]int{fleet.Up: 2, fleet.Down: 1}, r.Counts())

	r, err = f.Platform(ctx, "Staging")
	require.NoError(t, err)
	require.Len(t, r.Rows, 1)
	_, err = f.Platform(ctx, "qa")
	assert.EqualError(t, err, `"qa": no instance is in that environment (environments: production, staging)`)

	// A hanging load balancer costs no more than the timeout either.
	lb.set(func(lb *loadBalancer) { lb.hang = make(chan struct{}) })
	start := time.Now()
	r, err = f.Platform(ctx, "")
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 600*time.Millisecond)
	assert.Contains(t, r.Rows[0].ActiveErr, "no answer within 300ms")
}

func TestTasks(t *testing.T) {
	p := newPair(t)
	p.cfg.List[0].Tasks = p.blue.Tasks()
	f := p.fleet(t, openDB(t, ""))
	in, _ := f.Instance("api-blue")

	p.blue.SetTasks(`[{"name":"nightly-report","state":"running","started_at":"09:00","progress":"45%"},{"id":"reindex","status":"queued"}]`)
	tasks, text, err := f.Tasks(context.Background(), in)
	require.NoError(t, err)
	assert.Empty(t, text)
	assert.Equal(t, []fleet.Task{{Name: "nightly-report", State: "running", Started: "09:00", Detail: "45%"}, {Name: "reindex", State: "queued"}}, tasks)

	p.blue.SetTasks(`{"tasks":[{"job":"sync","status":"running"}]}`)
	tasks, _, err = f.Tasks(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, []fleet.Task{{Name: "sync", State: "running"}}, tasks)

	p.blue.SetTasks(`worker 1: idle`)
	_, text, err = f.Tasks(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, "worker 1: idle", text)

	green, _ := f.Instance("api-green")
	_, _, err = f.Tasks(context.Background(), green)
	assert.EqualError(t, err, "api-green has no tasks URL (instances.list[].tasks)")
}
