package events_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/event"
	eventsmod "github.com/opsbot/opsbot/modules/events"
)

func TestChanges(t *testing.T) {
	tb := bottest.New(t, bottest.Modules(eventsmod.New()))
	tb.User("alice", "dev")
	now := tb.Clock.Now()
	ing := tb.Bot.Ingester()
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	evs := []event.Event{
		{Tag: "deploy.finished", Title: "Deployed api 1.4.1", Labels: map[string]string{"service": "api"}, Source: "jenkins", Time: at(3 * time.Hour)},
		{Tag: "config.changed", Title: "nginx.conf reloaded on web1", Source: "ansible", Time: at(90 * time.Minute)},
		{Tag: "deploy.finished", Title: "Deployed api 1.4.2", Labels: map[string]string{"service": "api"}, Source: "jenkins", Time: at(40 * time.Minute)},
	}
	for i := range 3 {
		evs = append(evs, event.Event{Tag: "alert.api.latency", Severity: event.Critical, Title: "p99 latency over 2s",
			Labels: map[string]string{"service": "api"}, Source: "alertmanager", Time: at(time.Duration(30-i) * time.Minute)})
	}
	evs = append(evs,
		event.Event{Tag: "service.restarted", Title: "worker restarted", Labels: map[string]string{"service": "worker"}, Source: "systemd", Time: at(10 * time.Minute)},
		event.Event{Tag: "alert.api.latency", Status: event.Resolved, Title: "p99 latency over 2s", Labels: map[string]string{"service": "api"}, Source: "alertmanager", Time: at(5 * time.Minute)},
	)
	for _, e := range evs { // one by one, in time order, as they would arrive
		_, err := ing.Ingest(tb.Ctx, []event.Event{e})
		require.NoError(t, err)
	}

	require.Equal(t, "What happened in the last 2h, newest first:\n"+
		"- 5m ago `alert.api.latency` [resolved] p99 latency over 2s (api, alertmanager)\n"+
		"- 10m ago `service.restarted` worker restarted (worker, systemd)\n"+
		"- 28m ago `alert.api.latency` [critical] p99 latency over 2s ×3 (since 30m ago) (api, alertmanager)\n"+
		"- 40m ago `deploy.finished` Deployed api 1.4.2 (api, jenkins)\n"+
		"- 1h30m ago `config.changed` nginx.conf reloaded on web1 (ansible)",
		tb.Say("alice", "room1", "changes"))

	got := tb.Say("alice", "room2", "changes since 4h api")
	require.Contains(t, got, "What happened about api in the last 4h, newest first:")
	require.Contains(t, got, "Deployed api 1.4.1", "4h reaches the older deploy")
	require.NotContains(t, got, "worker")
	require.NotContains(t, got, "nginx")

	require.Contains(t, tb.Say("alice", "room3", "changes worker"), "worker restarted", "a service without since")
	require.Contains(t, tb.Say("alice", "room4", "changes nginx"), "Nothing happened about nginx in the last 2h.")
	require.Equal(t, "Nothing happened in the last 1m.", tb.Say("alice", "room5", "changes since 1m"))
	require.Contains(t, tb.Say("guest", "room6", "changes deploy"), "Deployed api 1.4.2", "a tag word; guests may ask: no side effects")
}

func TestChangesLimitsItsOutput(t *testing.T) {
	tb := bottest.New(t, bottest.Modules(eventsmod.New()))
	var evs []event.Event
	for i := range 30 {
		evs = append(evs, event.Event{Tag: "deploy.finished", Title: fmt.Sprint("deploy ", i), Time: tb.Clock.Now().Add(-time.Minute)})
	}
	_, err := tb.Bot.Ingester().Ingest(tb.Ctx, evs)
	require.NoError(t, err)
	got := tb.Say("bob", "room7", "changes")
	require.Contains(t, got, "deploy 29")
	require.NotContains(t, got, "deploy 9\n")
	require.Contains(t, got, "… and more: narrow it, e.g. `changes since 30m SERVICE`")
}
