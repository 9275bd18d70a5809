package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/event/eventsql"
)

func TestEventsPage(t *testing.T) { onEachDatabase(t, testEventsPage) }

func testEventsPage(t *testing.T, db string) {
	c := newConsoleDB(t, db, nil)
	log := eventsql.New(c.st.DB(), c.st.Dialect(), time.Now)
	c.m.SetEventLog(log)
	c.addUser(t, "alice", "correct horse")
	ctx := context.Background()
	now := c.clk.Now().UTC() // the console judges "since" by its clock
	_, err := log.Append(ctx, []event.Event{
		{Tag: "deploy.finished", Severity: event.Info, Status: event.Firing, Title: "api deployed to production", Source: "deploy", Labels: map[string]string{"service": "api"}, Time: now.Add(-3 * time.Hour)},
		{Tag: "alert.db.down", Severity: event.Critical, Status: event.Firing, Title: "<script>db down</script>", Source: "alertmanager", Labels: map[string]string{"service": "db"}, Time: now.Add(-30 * time.Minute)},
		{Tag: "deploy.finished", Severity: event.Info, Status: event.Firing, Title: "web deployed", Source: "deploy", Labels: map[string]string{"service": "web"}, Time: now.Add(-10 * time.Minute)},
	})
	require.NoError(t, err)
	cl := c.client(t)
	cl.login("alice", "correct horse")

	_, body := cl.do("GET", "/events", nil, nil)
	require.Contains(t, body, "api deployed to production")
	require.Contains(t, body, "&lt;script&gt;db down&lt;/script&gt;", "titles are escaped")
	require.Less(t, strings.Index(body, "web deployed"), strings.Index(body, "api deployed"), "newest first")

	_, body = cl.do("GET", "/events?tag=deploy.*", nil, nil)
	require.Contains(t, body, "web deployed")
	require.NotContains(t, body, "db down")
	_, body = cl.do("GET", "/events?label=service%3Ddb", nil, nil)
	require.Contains(t, body, "db down")
	require.NotContains(t, body, "deployed")
	_, body = cl.do("GET", "/events?since=1h", nil, nil)
	require.Contains(t, body, "web deployed")
	require.NotContains(t, body, "api deployed")
	_, body = cl.do("GET", "/events?source=alertmanager", nil, nil)
	require.Contains(t, body, "db down")
	require.NotContains(t, body, "deployed")

	resp, body := cl.do("GET", "/events?since=soon", nil, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, "since:")
	resp, _ = cl.do("GET", "/events?label=nokey", nil, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
