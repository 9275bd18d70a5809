package fleet_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/fleet"
	"github.com/opsbot/opsbot/fleet/fleettest"
)

// sink collects emitted events.
type sink struct {
	mu sync.Mutex
	ev []event.Event
}

func (s *sink) emit(_ context.Context, evs ...event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev = append(s.ev, evs...)
	return nil
}

func (s *sink) tags() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for _, e := range s.ev {
		out = append(out, e.Tag)
	}
	return out
}

func (s *sink) last() event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ev[len(s.ev)-1]
}

func watchConfig(p *pair) fleet.Config {
	cfg := p.cfg
	cfg.DownAfter, cfg.UpAfter, cfg.Interval = 3, 2, 30*time.Second
	cfg.Apps["api"].Initial = "blue"
	return cfg
}

func TestWatcherDampsFlapping(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		p := newPair(t)
		f := fleet.New(fleet.Options{Config: watchConfig(p), DB: db, Clock: clock.NewFake(t0)})
		var got sink
		w := fleet.NewWatcher(f, got.emit)
		round := func() {
			t.Helper()
			require.NoError(t, w.Round(ctx))
		}

		round()
		round()
		assert.Empty(t, got.tags(), "first sight of healthy instances is recorded, not announced")

		// Flapping: two failures, a success, two failures: never three in a row.
		p.blue.Set(fleettest.Unhealthy)
		round()
		round()
		p.blue.Set(fleettest.Healthy)
		round()
		p.blue.Set(fleettest.Unhealthy)
		round()
		round()
		assert.Empty(t, got.tags(), "flapping is damped")

		round()
		require.Equal(t, []string{fleet.TagDown}, got.tags())
		down := got.last()
		assert.Equal(t, event.Critical, down.Severity, "blue is active")
		assert.Equal(t, event.Firing, down.Status)
		assert.Equal(t, "api-blue is down (ACTIVE, serving traffic)", down.Title)
		assert.Equal(t, "api-blue failed 3 health checks in a row: HTTP 503, status fail", down.Text)
		assert.Equal(t, map[string]string{"instance": "api-blue", "app": "api", "role": "blue", "env": "production", "active": "yes"}, down.Labels)
		assert.Equal(t, "fleet.instance/api-blue", down.Fingerprint)

		p.blue.Stop()
		round()
		round()
		assert.Len(t, got.tags(), 1, "down is announced once")

		p.blue.Restart()
		p.blue.Set(fleettest.Healthy)
		round()
		assert.Len(t, got.tags(), 1, "one good check is not enough")
		round()
		require.Equal(t, []string{fleet.TagDown, fleet.TagUp}, got.tags())
		up := got.last()
		assert.Equal(t, event.Resolved, up.Status)
		assert.Equal(t, "fleet.instance/api-blue", up.Fingerprint)
		assert.Equal(t, "api-blue is up again", up.Title)

		p.green.SetVersion("1.6.0")
		round()
		require.Equal(t, []string{fleet.TagDown, fleet.TagUp, fleet.TagVersion}, got.tags())
		v := got.last()
		assert.Equal(t, "api-green now runs 1.6.0", v.Title)
		assert.Equal(t, map[string]string{"from": "1.5.0", "to": "1.6.0"}, v.Fields)
		assert.Equal(t, "no", v.Labels["active"])

		known, err := f.Store().Announcements(ctx)
		require.NoError(t, err)
		assert.Equal(t, fleet.Up, known["api-blue"].State)
		assert.Equal(t, "1.6.0", known["api-green"].Version)
	})
}

// TestWatcherReplicasAnnounceOnce: two watchers on one database (two
// replicas) see the same outage; it is announced once.
func TestWatcherReplicasAnnounceOnce(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		p := newPair(t)
		var got sink
		var ws []*fleet.Watcher
		for range 2 {
			f := fleet.New(fleet.Options{Config: watchConfig(p), DB: db, Clock: clock.NewFake(t0)})
			ws = append(ws, fleet.NewWatcher(f, got.emit))
		}
		p.green.Set(fleettest.Hanging)
		for range 3 {
			var wg sync.WaitGroup
			for _, w := range ws {
				wg.Go(func() { assert.NoError(t, w.Round(ctx)) })
			}
			wg.Wait()
		}
		assert.Equal(t, []string{fleet.TagDown}, got.tags())
		assert.Equal(t, event.Warning, got.last().Severity, "green takes no traffic")
		assert.Equal(t, "api-green failed 3 health checks in a row: no answer within 300ms", got.last().Text)
	})
}

// TestWatcherRunsOnTheClock: the periodic check is driven by the bot's
// clock: nothing happens until the interval passes on it.
func TestWatcherRunsOnTheClock(t *testing.T) {
	p := newPair(t)
	fc := clock.NewFake(t0)
	f := fleet.New(fleet.Options{Config: watchConfig(p), DB: openDB(t, ""), Clock: fc})
	var got sink
	w := fleet.NewWatcher(f, got.emit)
	rounds := make(chan int, 16)
	w.AfterRound(func(n int) { rounds <- n })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	next := func() int {
		t.Helper()
		select {
		case n := <-rounds:
			return n
		case <-time.After(10 * time.Second):
			t.Fatal("no health round")
			return 0
		}
	}
	assert.Equal(t, 1, next(), "a round at start")
	p.blue.Stop()
	fc.Advance(29 * time.Second)
	select {
	case n := <-rounds:
		t.Fatalf("round %d before the interval passed", n)
	default:
	}
	before := p.green.Hits()
	for i := 2; i <= 4; i++ {
		fc.Advance(time.Second)
		assert.Equal(t, i, next())
		fc.Advance(29 * time.Second)
	}
	assert.Equal(t, before+3, p.green.Hits(), "one check per interval")
	assert.Equal(t, []string{fleet.TagDown}, got.tags(), "down after three intervals")
	assert.Equal(t, t0.Add(90*time.Second), got.last().Time)
}

// TestWatcherAnnouncesAgainWhenEmitFails: a change whose event cannot be
// stored is not lost: the next round claims and announces it again.
func TestWatcherAnnouncesAgainWhenEmitFails(t *testing.T) {
	ctx := context.Background()
	p := newPair(t)
	cfg := watchConfig(p)
	cfg.DownAfter = 1
	f := fleet.New(fleet.Options{Config: cfg, DB: openDB(t, ""), Clock: clock.NewFake(t0)})
	var got sink
	broken := true
	w := fleet.NewWatcher(f, func(ctx context.Context, evs ...event.Event) error {
		if broken {
			return errors.New("event log unavailable")
		}
		return got.emit(ctx, evs...)
	})
	p.green.Stop()
	err := w.Round(ctx)
	require.ErrorContains(t, err, "emit 1 fleet events (they are announced on the next round): event log unavailable")
	broken = false
	require.NoError(t, w.Round(ctx))
	assert.Equal(t, []string{fleet.TagDown}, got.tags())
	require.NoError(t, w.Round(ctx))
	assert.Len(t, got.tags(), 1)
}
