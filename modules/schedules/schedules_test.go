package schedules_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/modules/schedules"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/pgtest"
)

// nagger is another module registering a schedule through ScheduleFunc
// from its Start, as the deployments module does for drift nags.
type nagger struct {
	h   *bot.Host
	mu  sync.Mutex
	ran []time.Time
}

func (*nagger) Name() string { return "nagger" }

func (n *nagger) Provision(h *bot.Host) error { n.h = h; return nil }

func (n *nagger) Start(ctx context.Context) error {
	for _, m := range n.h.Bot().Modules() {
		if s, ok := m.(interface {
			ScheduleFunc(name, when string, loc *time.Location, run func(ctx context.Context, at time.Time) error) error
		}); ok {
			return s.ScheduleFunc("nagger.drift/api/production", "every weekday at 9:30", nil, func(_ context.Context, at time.Time) error {
				n.mu.Lock()
				defer n.mu.Unlock()
				n.ran = append(n.ran, at)
				return nil
			})
		}
	}
	return nil
}

func (n *nagger) runs() []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]time.Time(nil), n.ran...)
}

const cfg = `timezone: Europe/Berlin
schedules:
  grace: 10m
  tasks:
    - id: standup
      when: every weekday at 10:30
      room: "#ops"
      post: Standup in the big room
    - id: pinger
      when: every 30m
      room: "#ops"
      run: ping
      as: reporter
    - id: beacon
      when: cron "0 */2 * * *"
      emit: {tag: backup.finished, title: beacon, labels: {db: main}}
`

func newBot(t *testing.T, opts ...bottest.Option) (*bottest.Bot, *schedules.Module, *nagger) {
	m, n := schedules.New(), &nagger{}
	tb := bottest.New(t, append([]bottest.Option{bottest.Modules(m, n), bottest.Config(cfg)}, opts...)...)
	tb.User("alice", "ops")
	tb.User("reporter")
	return tb, m, n
}

func settle(t *testing.T, tb *bottest.Bot, m *schedules.Module, d time.Duration) {
	t.Helper()
	tb.Clock.Advance(d)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, m.Scheduler().Settle(ctx))
}

func TestSchedulesModule(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var opts []bottest.Option
			if db == "postgres" {
				opts = append(opts, bottest.Database(pgtest.Start(t)))
			}
			tb, m, n := newBot(t, opts...)
			// The clock starts at Sunday 2026-11-22 09:00 UTC (10:00 in Berlin).
			var got []event.Event
			var mu sync.Mutex
			tb.Bot.Events().Subscribe("test", "backup.*", func(_ context.Context, e event.Event) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, e)
				return nil
			})

			// Reminders need a permission.
			require.Contains(t, tb.Say("alice", "ops", "remind me in 2h check the backups"), "schedules:remind")
			tb.Grant("schedules:remind", "group:ops")
			tb.Grant("schedules:manage", "group:ops")
			reply := tb.Say("alice", "ops", "remind me in 2h check the backups")
			require.Contains(t, reply, "next at Sun 2026-11-22 12:00 CET")
			id := regexp.MustCompile("`(r-[0-9a-f]+)`").FindStringSubmatch(reply)[1]
			require.Contains(t, tb.Say("alice", "ops", `remind #deploys cron "0 11 * * *" freeze starts`), "next at Sun 2026-11-22 11:00 CET")
			require.Contains(t, tb.Say("alice", "ops", "remind me sometime soon"), "say when")
			require.Contains(t, tb.Say("alice", "ops", "remind me every fortnight at 25:00 x"), "can't read the time")

			list := tb.Say("alice", "ops", "schedules")
			for _, want := range []string{"6 schedule(s)", "`standup` every weekday at 10:30 (Europe/Berlin) — next: Mon 11-23 10:30 CET",
				"`pinger` every 30m", "`nagger.drift/api/production` every weekday at 9:30", "`" + id + "` in 2h"} {
				require.Contains(t, list, want)
			}

			settle(t, tb, m, 30*time.Minute)
			tb.WaitFor("#ops", "pong")
			settle(t, tb, m, 30*time.Minute) // 10:00 UTC = 11:00 Berlin
			tb.WaitFor("#deploys", "Reminder from alice: freeze starts")
			require.Contains(t, tb.Say("alice", "ops", "schedule pause pinger"), "Schedule `pinger` paused.")
			settle(t, tb, m, time.Hour)
			tb.WaitFor("ops", "Reminder for alice: check the backups")
			mu.Lock()
			require.Len(t, got, 1) // 12:00 in Berlin
			require.Equal(t, "main", got[0].Labels["db"])
			require.Equal(t, "beacon", got[0].Labels["schedule"])
			mu.Unlock()
			require.Contains(t, tb.Say("alice", "ops", "schedule resume pinger"), "resumed")
			require.Contains(t, tb.Say("alice", "ops", "schedule delete standup"), "comes from the config")
			require.Contains(t, tb.Say("alice", "ops", "schedule delete nope"), "There is no schedule `nope`")
			pongs := strings.Count(bottest.Texts(tb.Chat.All()), "pong")
			require.Equal(t, 2, pongs) // 09:30 and 10:00; none while paused

			// Monday 10:30 Berlin: the standup post; 9:30 the nag.
			settle(t, tb, m, 20*time.Hour)             // Monday 07:00 UTC
			settle(t, tb, m, time.Hour+30*time.Minute) // 09:30 in Berlin
			settle(t, tb, m, time.Hour)                // 10:30 in Berlin
			tb.WaitFor("#ops", "Standup in the big room")
			require.Len(t, n.runs(), 1)
			require.Equal(t, time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC), n.runs()[0].UTC())

			// The API.
			srv := httpapi.New(nil, tb.App.Registry)
			for _, r := range tb.Bot.Routes() {
				if r.Scope != "" {
					srv.HandleAPI(r.Pattern, r.Scope, r.Handler)
				}
			}
			srv.SetReady(tb.Store)
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			token := func(name, scope string) string {
				tok, hash, err := httpapi.NewToken()
				require.NoError(t, err)
				_, err = tb.Store.CreateToken(t.Context(), store.Token{Name: name, Hash: hash, Scopes: []string{scope}})
				require.NoError(t, err)
				return tok
			}
			tok, auditor := token("reader", "schedules:read"), token("auditor", "audit:read")
			get := func(q, token string) (int, map[string]any) {
				req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/v1/schedules"+q, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				var out map[string]any
				require.NoError(t, json.Unmarshal(b, &out), string(b))
				return resp.StatusCode, out
			}
			code, _ := get("", "")
			require.Equal(t, http.StatusUnauthorized, code)
			code, _ = get("", auditor)
			require.Equal(t, http.StatusForbidden, code)
			code, out := get("?owner=config", tok)
			require.Equal(t, http.StatusOK, code)
			require.EqualValues(t, 3, out["total"])
			first := out["schedules"].([]any)[0].(map[string]any)
			require.Equal(t, "beacon", first["id"])
			require.NotEmpty(t, first["next_fire"])
			code, out = get("?limit=0", tok)
			require.Equal(t, http.StatusBadRequest, code)
			require.Contains(t, out["error"], "limit")
		})
	}
}

// TestMissedWhileStalled: when the process could not fire for longer than
// the grace (stopped, suspended), the room hears about the firings missed
// and the latest within the grace runs once.
func TestMissedWhileStalled(t *testing.T) {
	m := schedules.New()
	tb := bottest.New(t, bottest.Modules(m), bottest.Config("schedules:\n  grace: 10m\n  tasks:\n    - {id: tick, when: every 1h, room: \"#ops\", post: tick}\n"))
	settle(t, tb, m, time.Hour)
	tb.WaitFor("#ops", "tick")
	settle(t, tb, m, 3*time.Hour+5*time.Minute)
	tb.WaitFor("#ops", "Schedule `tick` missed 2 firing(s) while opsbot was down, the last at 2026-11-22 12:00 UTC")
	require.Equal(t, 2, strings.Count(bottest.Texts(tb.Chat.All()), "tick\n")+boolInt(strings.HasSuffix(bottest.Texts(tb.Chat.All()), "tick")))
	e, err := m.Scheduler().Get(t.Context(), "tick")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC), e.LastFire)
	require.Equal(t, int64(2), e.Missed)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSplitWhen(t *testing.T) {
	for in, want := range map[string][2]string{
		"in 2h check it":                        {"in 2h", "check it"},
		"at 2026-12-01 09:30 the freeze":        {"at 2026-12-01 09:30", "the freeze"},
		"at 17:00 go home":                      {"at 17:00", "go home"},
		"every 15m drink water":                 {"every 15m", "drink water"},
		"every weekday at 9:30 standup":         {"every weekday at 9:30", "standup"},
		"every monday and friday at 10:00 demo": {"every monday and friday at 10:00", "demo"},
		`cron "0 9 * * 1-5" standup`:            {`cron "0 9 * * 1-5"`, "standup"},
	} {
		w, txt, err := schedules.SplitWhen(in)
		require.NoError(t, err, in)
		require.Equal(t, want, [2]string{w, txt}, in)
	}
	for _, in := range []string{"in 2h", "tomorrow", "cron 0 9 * * * x", `cron "0 9 * * *"`} {
		_, _, err := schedules.SplitWhen(in)
		require.Error(t, err, in)
	}
}
