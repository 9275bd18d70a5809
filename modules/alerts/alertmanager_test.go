package alerts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/alert/amtest"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/modules/alerts"
	hooksmod "github.com/opsbot/opsbot/modules/hooks"
)

// serveHTTP serves the bot's routes on loopback, as `opsbot serve` does.
func serveHTTP(t *testing.T, tb *bottest.Bot) string {
	t.Helper()
	srv := httpapi.New(nil, prometheus.NewRegistry())
	for _, r := range tb.Bot.Routes() {
		if r.Scope != "" {
			srv.HandleAPI(r.Pattern, r.Scope, r.Handler)
		} else {
			srv.Handle(r.Pattern, r.Handler)
		}
	}
	srv.SetReady(tb.Store)
	l, err := srv.Listen("127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + l.Addr().String()
}

// A real Alertmanager sends its webhook to opsbot: firing alerts appear in
// `alerts`, `ack all` acknowledges them, their resolution closes them and
// posts "resolved".
func TestRealAlertmanager(t *testing.T) {
	m := alerts.New()
	tb := bottest.New(t, bottest.Modules(hooksmod.New(), m, alerts.NewOnCall()), bottest.Config(`hooks:
  alertmanager: {token: am-secret-token}
alerts:
  room: alerts
`))
	tb.User("alice", "ops")
	tb.Grant("alerts", "group:ops")
	url := serveHTTP(t, tb)
	am := amtest.Start(t, amtest.Options{WebhookURL: url + "/hooks/alertmanager", Token: "am-secret-token"})

	start := time.Now().Add(-time.Minute)
	firing := []amtest.Alert{
		{Labels: map[string]string{"alertname": "DiskRunningFull", "device": "sda1", "instance": "example1", "severity": "critical"},
			Annotations: map[string]string{"summary": "sda1 is 95% full"}, StartsAt: start, GeneratorURL: "http://prometheus.test/graph"},
		{Labels: map[string]string{"alertname": "DiskRunningFull", "device": "sda2", "instance": "example1", "severity": "warning"},
			Annotations: map[string]string{"summary": "sda2 is 85% full"}, StartsAt: start},
	}
	am.Push(t, firing...)
	waitFor := func(room, substr string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			for _, p := range tb.Chat.All() {
				if p.Room == room && strings.Contains(p.Post.Text, substr) {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no %q in %s after 30s; posts:\n%s\nalertmanager:\n%s\nopsbot:\n%s", substr, room, bottest.Texts(tb.Chat.All()), am.Logs(), tb.Logs())
	}
	waitFor("alerts", "sda1 is 95% full")
	waitFor("alerts", "sda2 is 85% full")

	list := tb.Say("alice", "ops", "alerts")
	require.Contains(t, list, "[critical] DiskRunningFull: sda1 is 95% full")
	require.Contains(t, list, "[warning] DiskRunningFull: sda2 is 85% full")
	require.Contains(t, tb.Say("alice", "ops", "ack all"), "Acknowledged #1, #2 (alice).")
	require.Contains(t, tb.Say("alice", "ops", "alerts"), "acknowledged by alice")

	for i := range firing {
		firing[i].EndsAt = time.Now().Add(-time.Second)
	}
	am.Push(t, firing...)
	waitFor("alerts", "resolved: #1 DiskRunningFull: sda1 is 95% full")
	waitFor("alerts", "resolved: #2 DiskRunningFull: sda2 is 85% full")
	require.Contains(t, tb.Say("alice", "ops", "alerts"), "No open alerts.")
	require.NotContains(t, tb.Logs(), "am-secret-token")
}
