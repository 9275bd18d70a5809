package slack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/slack"
	"github.com/opsbot/opsbot/chat/slack/slacktest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// Two replicas (or a process before and after a restart) share the
// database: an event Slack delivers to one and retries to the other is
// handled once, on SQLite and on PostgreSQL; once its record expires, the
// same event ID counts as new.
func TestRedeliveryAcrossReplicasIsHandledOnce(t *testing.T) {
	for _, db := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", "pg"}} {
		t.Run(db.name, func(t *testing.T) {
			url := db.url
			if url == "pg" {
				url = pgtest.Start(t)
			}
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, url, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			fake := slacktest.Start(t)
			fc := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
			const secret = "replica-signing-secret"
			replica := func() *httpRig {
				cfg := slack.Config{Mode: slack.ModeEvents, BotToken: slacktest.BotToken, SigningSecret: config.Secret(secret), APIURL: fake.APIURL()}
				a, err := slack.New(cfg, slack.Options{Logger: testLogger(t), Clock: fc, DB: st.DB()})
				if err != nil {
					t.Fatal(err)
				}
				r := &httpRig{adapter: a, clock: fc, in: make(chan chat.Message, 8), secret: secret}
				r.srv = newServer(t, a.Handler())
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); _ = a.Run(ctx, r.in) }()
				t.Cleanup(func() { cancel(); <-done })
				return r
			}
			one, two := replica(), replica()
			body := readFile(t, "event_callback.message_im.json")
			if code, out := one.signed(t, slack.EventsPath, "application/json", body); code != http.StatusOK {
				t.Fatalf("%d %s", code, out)
			}
			one.receive(t)
			fc.Advance(time.Second) // Slack's retry, signed anew
			if code, out := two.signed(t, slack.EventsPath, "application/json", body); code != http.StatusOK {
				t.Fatalf("%d %s", code, out)
			}
			// Envelopes are processed in order: the next one out of two is
			// the mention sent after the retry, if the retry was dropped.
			if code, _ := two.signed(t, slack.EventsPath, "application/json", readFile(t, "event_callback.app_mention.json")); code != http.StatusOK {
				t.Fatal(code)
			}
			if m := two.receive(t); m.Room.ID != "C123ABC456" {
				t.Fatalf("the other replica handled the retry: %+v", m)
			}
			fc.Advance(2 * time.Hour) // past dedup_for
			if code, _ := two.signed(t, slack.EventsPath, "application/json", body); code != http.StatusOK {
				t.Fatal(code)
			}
			if m := two.receive(t); m.ID != "msg:D024BE91L:1355517523.000005" {
				t.Errorf("got %+v", m)
			}
		})
	}
}
