package fleet_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/fleet/fleettest"
	fleetmod "github.com/opsbot/opsbot/modules/fleet"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/pgtest"
)

func TestPlatformReport(t *testing.T) {
	p := newPlatform(t)
	p.green.Set(fleettest.Warn)
	p.cron.Set(fleettest.Unhealthy)
	tb, _ := p.bot(t, "")

	reply := say(tb, "dave", "platform")
	lines := strings.Split(reply, "\n")
	require.Len(t, lines, 6, reply)
	assert.Regexp(t, `^\*Platform\*: 3 instances — 1 up, 1 degraded, 1 down \(checked in (\d+ms|<1ms)\)$`, lines[0])
	assert.Equal(t, "*production*", lines[1])
	assert.Regexp(t, `^- \*blue\* \(api\) ACTIVE: up · 1\.4\.2 · (\d+ms|<1ms)$`, lines[2])
	assert.Regexp(t, `^- \*green\* \(api\): degraded — status warn · 1\.5\.0 · (\d+ms|<1ms)$`, lines[3])
	assert.Equal(t, "*staging*", lines[4])
	assert.Equal(t, "- *cron* ACTIVE: down — HTTP 503, status fail · 1.4.2", lines[5])

	assert.Contains(t, say(tb, "dave", "roih status staging"), "*Platform staging*: 1 instances — 1 down")
	assert.Contains(t, say(tb, "dave", "platform qa"), `"qa": no instance is in that environment (environments: production, staging)`)
}

func TestRestartOnlyInactive(t *testing.T) {
	p := newPlatform(t)
	tb, _ := p.bot(t, "")

	reply := say(tb, "alice", "restart blue")
	assert.Equal(t, "Not restarting *blue*: blue is ACTIVE and serving api's traffic in production, and `restart` only restarts instances that take no traffic."+
		" Move the traffic first with `switch api to green`, then restart it; or, if you must, `force restart blue` (needs `fleet:force-restart` and asks for confirmation).", reply)
	assert.False(t, p.restarted(t, "blue"))
	audit, err := tb.Store.QueryAudit(tb.Ctx, store.AuditFilter{Command: "restart", Limit: 1})
	require.NoError(t, err)
	require.Len(t, audit, 1)
	assert.Equal(t, "error", audit[0].Outcome)
	assert.Equal(t, "refused: Not restarting blue: blue is ACTIVE and serving api's traffic in production, and restart only restarts instances that take no traffic", audit[0].Error)

	reply = say(tb, "alice", "restart master inactive")
	assert.Contains(t, reply, "Restarting *green* (`")
	assert.Contains(t, reply, "*green* restarted in ")
	assert.Contains(t, reply, "restarted green for alice")
	assert.True(t, p.restarted(t, "green"))

	assert.Contains(t, say(tb, "dave", "restart green"), "needs the permission `fleet:restart`")
	assert.Equal(t, "Not restarting *cron*: cron is ACTIVE and serving traffic in staging, and `restart` only restarts instances that take no traffic."+
		" If you must, `force restart cron` (needs `fleet:force-restart` and asks for confirmation).", say(tb, "alice", "restart scheduler"))
	assert.Contains(t, say(tb, "alice", "restart purple"), `"purple" is not a known instance (known: blue, green, cron)`)
	assert.Contains(t, say(tb, "alice", "restart master"), `"master" matches several instances: blue, green`)
}

func TestForceRestartAsksFirst(t *testing.T) {
	p := newPlatform(t)
	tb, _ := p.bot(t, "")

	reply := say(tb, "alice", "force restart blue")
	assert.Contains(t, reply, "`force restart blue` needs confirmation. Reply `yes ")
	assert.Contains(t, reply, "blue is ACTIVE and serving api's traffic", "the question names who is affected")
	assert.False(t, p.restarted(t, "blue"), "nothing runs before the answer")
	code := regexp.MustCompile("yes (\\d+)").FindStringSubmatch(reply)[1]

	assert.Contains(t, say(tb, "carol", "yes "+code), "There is no open confirmation", "only the asker can confirm")
	assert.False(t, p.restarted(t, "blue"))

	reply = say(tb, "alice", "yes "+code)
	assert.Contains(t, reply, "Force-restarting *blue* (`")
	assert.Contains(t, reply, "blue is ACTIVE and serving api's traffic in production.")
	assert.Contains(t, reply, "restarted blue for alice")
	assert.True(t, p.restarted(t, "blue"))

	reply = say(tb, "alice", "force restart green")
	code = regexp.MustCompile("yes (\\d+)").FindStringSubmatch(reply)[1]
	assert.Contains(t, say(tb, "alice", "no "+code), "Cancelled")
	assert.False(t, p.restarted(t, "green"))

	tb.Grant("fleet:restart", "group:dev")
	assert.Contains(t, say(tb, "dave", "force restart green"), "needs the permission `fleet:force-restart`", "a separate permission")
}

func TestMissingInstanceOffersChoices(t *testing.T) {
	p := newPlatform(t)
	tb, _ := p.bot(t, "")

	reply := say(tb, "dave", "health")
	assert.Contains(t, reply, "Which instance?")
	assert.Contains(t, reply, "1. blue")
	assert.Contains(t, reply, "2. green")
	assert.Contains(t, reply, "3. cron")
	reply = say(tb, "dave", "2")
	assert.Contains(t, reply, "*green* is up\nHTTP 200 in ")
	assert.Contains(t, reply, "version 1.5.0 · inactive\nstatus: pass\n- postgres:connections: pass (12)\n- uptime: pass (3600 s)")

	// Where the chat has buttons, they are buttons.
	tb.Chat.Buttons = true
	posts := tb.Send(tb.Message("dave", "ops", "tasks"))
	require.Len(t, posts, 1)
	require.Len(t, posts[0].Post.Buttons, 3, "%#v", posts)
	assert.Equal(t, chat.Button{ID: "choice-1", Label: "blue", Value: "tasks blue"}, posts[0].Post.Buttons[0])
}

func TestHealthAndTasksByWords(t *testing.T) {
	p := newPlatform(t)
	tb, _ := p.bot(t, "")

	reply := say(tb, "dave", "tasks master active")
	assert.Equal(t, "*Tasks on blue* (1):\n- nightly-report · running · since 09:00 · 45%", reply)
	assert.Equal(t, reply, say(tb, "dave", "show tasks blue rh"))
	assert.Equal(t, reply, say(tb, "dave", "tasks roi hunter blue"))
	assert.Contains(t, say(tb, "dave", "tasks green"), "Nothing is running on *green*.")
	assert.Contains(t, say(tb, "dave", "tasks scheduler"), "cron has no tasks URL")

	p.blue.Set(fleettest.Hanging)
	start := time.Now()
	reply = say(tb, "dave", "health active master")
	assert.Less(t, time.Since(start), 2*time.Second, "within the 1s timeout")
	assert.Contains(t, reply, "*blue* is down — no answer within 1s")
	assert.Contains(t, reply, "ACTIVE")
}

func TestSwitch(t *testing.T) {
	p := newPlatform(t)
	tb, m := p.bot(t, "")
	ctx := context.Background()

	p.green.Set(fleettest.Unhealthy)
	reply := say(tb, "alice", "switch api to green")
	assert.Equal(t, "Not switching: green is not healthy, so api stays on blue: green is down (HTTP 503, status fail)", reply)
	c, err := m.ActiveColour(ctx, "api")
	require.NoError(t, err)
	assert.Equal(t, "blue", c)

	p.green.Set(fleettest.Healthy)
	assert.Contains(t, say(tb, "dave", "switch api to green"), "needs the permission `fleet:switch`")
	reply = say(tb, "alice", "switch master")
	assert.Regexp(t, "^Switched \\*api\\* from blue to green in (\\d+ms|<1ms) \\(recorded by opsbot: the app has no switch action\\)\\. Verified: green up\\. `switch back api` returns to blue\\.$", reply)
	c, _ = m.ActiveColour(ctx, "api")
	assert.Equal(t, "green", c)
	assert.Contains(t, say(tb, "dave", "platform production"), "*green* (api) ACTIVE")

	// Blue takes no traffic now: a plain restart is fine.
	assert.Contains(t, say(tb, "alice", "restart blue"), "restarted blue for alice")

	assert.Equal(t, "*api* is already on green; nothing to do.", say(tb, "alice", "switch api to green"))
	assert.Contains(t, say(tb, "alice", "switch back api"), "Switched *api* from green to blue")
	assert.Contains(t, say(tb, "alice", "switch api to purple"), `"purple" is not a colour of api (colours: blue, green)`)
	assert.Contains(t, say(tb, "alice", "switch shop"), `"shop" is not a blue-green app (known: api)`)

	// The contract the deployments module uses.
	require.NoError(t, m.SwitchTo(ctx, "api", "green", "deploy"))
	require.NoError(t, m.SwitchTo(ctx, "api", "green", "deploy"), "already there is not an error")
	p.blue.Stop()
	err = m.SwitchTo(ctx, "api", "blue", "deploy")
	require.Error(t, err)
	assert.Equal(t, "switch refused: blue is not healthy, so api stays on green: blue is down (connection refused)", err.Error())
}

func TestPanic(t *testing.T) {
	p := newPlatform(t)
	tb, _ := p.bot(t, "")
	got := make(chan event.Event, 4)
	tb.Bot.Events().Subscribe("test", "fleet.panic", func(_ context.Context, e event.Event) error {
		got <- e
		return nil
	})
	p.green.Set(fleettest.Unhealthy)

	assert.Contains(t, say(tb, "dave", "panic"), "needs the permission `fleet:panic`")
	posts := tb.Send(tb.Message("alice", "ops", "panic production checkout is failing"))
	require.Len(t, posts, 2)
	assert.Equal(t, "ops-room", posts[0].Room)
	assert.Equal(t, []string{"alice", "carol"}, posts[0].Post.Mentions)
	assert.Equal(t, chat.SeverityCritical, posts[0].Post.Severity)
	assert.True(t, strings.HasPrefix(posts[0].Post.Text, "*PANIC from alice: checkout is failing*\nResponders: alice, carol\n*Platform production*: 2 instances — 1 up, 1 down"), posts[0].Post.Text)
	assert.Equal(t, "ops", posts[1].Room)
	assert.Equal(t, "Panic posted to ops-room; the fleet.panic event is recorded (on-call is paged where alerts are set up).", posts[1].Post.Text)

	select {
	case e := <-got:
		assert.Equal(t, event.Critical, e.Severity)
		assert.Equal(t, map[string]string{"by": "alice", "env": "production"}, e.Labels)
		assert.Equal(t, "PANIC from alice: checkout is failing (platform: 1 up, 1 down)", e.Title)
		assert.Contains(t, e.Text, "*green* (api): down — HTTP 503")
		assert.Equal(t, "fleet", e.Source)
	case <-time.After(10 * time.Second):
		t.Fatal("no fleet.panic event")
	}
}

// TestPeriodicHealthIsRouted: the periodic check, on the bot's clock,
// announces an instance down after down_after failed checks and up again;
// the route tree sends both to the room its routes name.
func TestPeriodicHealthIsRouted(t *testing.T) {
	p := newPlatform(t)
	tb, _ := p.bot(t, `
routes:
  default_adapter: test
  rooms: ["general"]
  routes:
    - name: fleet
      match: {tag: "fleet.instance.*"}
      rooms: ["fleet-alerts"]
`)
	p.blue.Stop()
	down := advanceUntil(t, tb, "fleet-alerts", "blue is down", 30*time.Second)
	assert.Contains(t, down, "ACTIVE, serving traffic")
	p.blue.Restart()
	advanceUntil(t, tb, "fleet-alerts", "blue is up again", 30*time.Second)
	for _, post := range tb.Chat.All() {
		assert.NotEqual(t, "general", post.Room, "fleet events go to their route's room: %s", post.Post.Text)
	}
}

func TestInstancesAPI(t *testing.T) {
	p := newPlatform(t)
	tb, _ := p.bot(t, "")
	api := newAPI(t, tb)
	p.cron.Set(fleettest.Unhealthy)

	code, body := api.get(t, api.reader, "/api/v1/instances?check=true")
	require.Equal(t, 200, code, body)
	var out struct {
		Instances []struct {
			Name    string `json:"name"`
			Active  *bool  `json:"active"`
			State   string `json:"state"`
			Detail  string `json:"detail"`
			Version string `json:"version"`
		} `json:"instances"`
		Apps []struct {
			App     string   `json:"app"`
			Active  string   `json:"active"`
			Colours []string `json:"colours"`
			Source  string   `json:"source"`
		} `json:"apps"`
	}
	decode(t, body, &out)
	require.Len(t, out.Instances, 3)
	assert.Equal(t, "blue", out.Instances[0].Name)
	assert.True(t, *out.Instances[0].Active)
	assert.Equal(t, "up", out.Instances[0].State)
	assert.Equal(t, "1.4.2", out.Instances[0].Version)
	assert.False(t, *out.Instances[1].Active)
	assert.Equal(t, "down", out.Instances[2].State)
	assert.Equal(t, "HTTP 503, status fail", out.Instances[2].Detail)
	require.Len(t, out.Apps, 1)
	assert.Equal(t, "blue", out.Apps[0].Active)
	assert.Equal(t, []string{"blue", "green"}, out.Apps[0].Colours)
	assert.Equal(t, "opsbot", out.Apps[0].Source)

	code, body = api.get(t, api.reader, "/api/v1/instances?env=staging")
	require.Equal(t, 200, code, body)
	decode(t, body, &out)
	require.Len(t, out.Instances, 1)
	assert.Equal(t, "cron", out.Instances[0].Name)

	code, body = api.get(t, api.reader, "/api/v1/instances?env=qa")
	assert.Equal(t, 400, code)
	assert.Contains(t, body, `env: \"qa\" is not an environment of any instance`)
	code, body = api.get(t, api.reader, "/api/v1/instances?check=maybe")
	assert.Equal(t, 400, code)
	assert.Contains(t, body, "check: ")
	code, body = api.get(t, api.reader, "/api/v1/instances?app=shop")
	assert.Equal(t, 400, code)
	assert.Contains(t, body, `app: \"shop\" is not the app of any instance`)
	code, body = api.get(t, api.reader, "/api/v1/instances?app=api")
	require.Equal(t, 200, code)
	decode(t, body, &out)
	assert.Len(t, out.Instances, 2)
	code, _ = api.get(t, api.reader, "/api/v1/instances?colour=blue")
	assert.Equal(t, 400, code)
	code, _ = api.get(t, "", "/api/v1/instances")
	assert.Equal(t, 401, code)
	code, _ = api.get(t, api.writer, "/api/v1/instances")
	assert.Equal(t, 403, code)
}

// TestPlatformOf50With5Hanging: `platform` over 50 instances of which 5
// never answer replies within the configured timeout, not 50 timeouts.
func TestPlatformOf50With5Hanging(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var b strings.Builder
	b.WriteString("instances:\n  timeout: 300ms\n  poll: false\n  list:\n")
	for i := range 50 {
		s := fleettest.Start(t)
		if i%10 == 7 {
			s.Set(fleettest.Hanging)
		}
		fmt.Fprintf(&b, "    - {name: web%02d, env: production, health: %q, version: %q}\n", i, s.Health(), s.Version())
	}
	tb := bottest.New(t, bottest.Modules(fleetmod.New()), bottest.Config(b.String()))
	tb.User("alice", "ops")

	start := time.Now()
	reply := tb.Say("alice", "ops", "platform")
	took := time.Since(start)
	assert.Less(t, took, 2*timeout, "one timeout, not fifty")
	assert.Contains(t, reply, "*Platform*: 50 instances — ")
	assert.GreaterOrEqual(t, strings.Count(reply, "down — no answer within 300ms"), 5)
	assert.Contains(t, reply, "- *web07*: down — no answer within 300ms")
}

// TestOnPostgres: the module's state (the kept colour, the previous one for
// `switch back`) on a real PostgreSQL.
func TestOnPostgres(t *testing.T) {
	p := newPlatform(t)
	m := fleetmod.New()
	tb := bottest.New(t, bottest.Modules(m), bottest.Config(p.yaml), bottest.Database(pgtest.Start(t)))
	assert.Contains(t, say(tb, "alice", "switch api to green"), "Switched *api* from blue to green")
	assert.Contains(t, say(tb, "alice", "restart blue"), "restarted blue for alice")
	assert.Contains(t, say(tb, "alice", "switch back master"), "Switched *api* from green to blue")
	c, err := m.ActiveColour(context.Background(), "api")
	require.NoError(t, err)
	assert.Equal(t, "blue", c)
}

// TestSwitchConfirm: an app with confirm: true asks before switching.
func TestSwitchConfirm(t *testing.T) {
	p := newPlatform(t)
	p.yaml = strings.Replace(p.yaml, "initial: blue\n", "initial: blue\n      confirm: true\n", 1)
	tb, m := p.bot(t, "")
	reply := say(tb, "alice", "switch api to green")
	require.Contains(t, reply, "`switch api to green` needs confirmation")
	c, _ := m.ActiveColour(context.Background(), "api")
	assert.Equal(t, "blue", c, "nothing moved before the answer")
	code := regexp.MustCompile("yes (\\d+)").FindStringSubmatch(reply)[1]
	assert.Contains(t, say(tb, "alice", "yes "+code), "Switched *api* from blue to green")
}
