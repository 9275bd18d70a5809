package fleet_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/fleet/fleettest"
	"github.com/opsbot/opsbot/httpapi"
	fleetmod "github.com/opsbot/opsbot/modules/fleet"
	notifymod "github.com/opsbot/opsbot/modules/notify"
	"github.com/opsbot/opsbot/store"
)

// platform is three real instance servers: api's blue (active at start) and
// green, and a cron instance; restarts run testdata/restart.sh, which marks
// the directory marks.
type platform struct {
	blue, green, cron *fleettest.Server
	marks             string
	yaml              string
}

func newPlatform(t *testing.T) *platform {
	p := &platform{blue: fleettest.Start(t), green: fleettest.Start(t), cron: fleettest.Start(t), marks: t.TempDir()}
	p.blue.SetVersion("1.4.2")
	p.green.SetVersion("1.5.0")
	p.cron.SetVersion("1.4.2")
	p.blue.SetTasks(`[{"name":"nightly-report","state":"running","started_at":"09:00","progress":"45%"}]`)
	script, err := filepath.Abs("testdata/restart.sh")
	require.NoError(t, err)
	restart := fmt.Sprintf(`{argv: [%q, %q, "{instance}", "{user}"]}`, script, p.marks)
	p.yaml = fmt.Sprintf(`
users:
  - {name: alice, groups: [ops], identities: ["shell:alice", "test:alice"]}
  - {name: carol, groups: [oncall], identities: ["shell:carol", "test:carol"]}
  - {name: dave, groups: [dev], identities: ["shell:dave", "test:dave"]}
rules:
  - {permission: "fleet:*", groups: [ops]}
instances:
  timeout: 1s
  slow_after: -1s
  interval: 30s
  down_after: 2
  up_after: 1
  platform: {aliases: ["roih status"]}
  panic: {rooms: ["ops-room"], responders: [alice, "group:oncall"]}
  apps:
    api:
      aliases: [master, rh, "roi hunter"]
      initial: blue
  list:
    - {name: blue, app: api, role: blue, env: production, health: %q, version: %q, tasks: %q, restart: %s}
    - {name: green, app: api, role: green, env: production, health: %q, version: %q, tasks: %q, restart: %s}
    - {name: cron, aliases: [scheduler], env: staging, serving: true, health: %q, version: %q, restart: %s}
`, p.blue.Health(), p.blue.Version(), p.blue.Tasks(), restart,
		p.green.Health(), p.green.Version(), p.green.Tasks(), restart,
		p.cron.Health(), p.cron.Version(), restart)
	return p
}

// bot runs a bot with the fleet (and notify, for the route tree) on the platform.
func (p *platform) bot(t *testing.T, extraYAML string) (*bottest.Bot, *fleetmod.Module) {
	m := fleetmod.New()
	tb := bottest.New(t, bottest.Modules(m, notifymod.New()), bottest.Config(p.yaml+extraYAML))
	return tb, m
}

func (p *platform) restarted(t *testing.T, name string) bool {
	_, err := os.Stat(filepath.Join(p.marks, "restarted-"+name))
	return err == nil
}

// say sends text as a user with a test identity linked to the config's user.
func say(tb *bottest.Bot, user, text string) string {
	return tb.Say(user, "ops", text)
}

// advanceUntil moves the bot's clock an interval at a time until a post in
// room contains substr (the periodic check runs on that clock).
func advanceUntil(t *testing.T, tb *bottest.Bot, room, substr string, step time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range tb.Chat.All() {
			if p.Room == room && strings.Contains(p.Post.Text, substr) {
				return p.Post.Text
			}
		}
		tb.Clock.Advance(step)
		time.Sleep(20 * time.Millisecond) // real time for the round's HTTP checks; polled, not relied on
	}
	t.Fatalf("no post containing %q in %s; posts:\n%s", substr, room, bottest.Texts(tb.Chat.All()))
	return ""
}

// api is an HTTP listener as `opsbot serve` builds it, with two tokens:
// reader has instances:read, writer only events:write.
type api struct {
	url            string
	reader, writer string
}

func newAPI(t *testing.T, tb *bottest.Bot) *api {
	t.Helper()
	srv := httpapi.New(nil, tb.App.Registry)
	for _, r := range tb.Bot.Routes() {
		if r.Scope != "" {
			srv.HandleAPI(r.Pattern, r.Scope, r.Handler)
		} else {
			srv.Handle(r.Pattern, r.Handler)
		}
	}
	srv.SetReady(tb.Store)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	a := &api{url: hs.URL}
	for name, scope := range map[string]string{"reader": "instances:read", "writer": "events:write"} {
		tok, hash, err := httpapi.NewToken()
		require.NoError(t, err)
		_, err = tb.Store.CreateToken(t.Context(), store.Token{Name: name, Hash: hash, Scopes: []string{scope}})
		require.NoError(t, err)
		if name == "reader" {
			a.reader = tok
		} else {
			a.writer = tok
		}
	}
	return a
}

func (a *api) get(t *testing.T, token, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.url+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func decode(t *testing.T, body string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(body), v), body)
}
