package status_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/modules/status"
	"github.com/opsbot/opsbot/statuspage/atlassian/atlassiantest"
)

const cfg = `statuspage:
  title: Example Status
  room: announce
  components:
    - {name: API, group: Core}
    - {name: Build Processing, group: Core, aliases: [builds, ci]}
    - {name: Website}
`

func newBot(t *testing.T, yaml string) (*bottest.Bot, *status.Module) {
	t.Helper()
	m := status.New()
	tb := bottest.New(t, bottest.Modules(m), bottest.Config(yaml))
	tb.User("alice", "ops")
	tb.User("guest")
	tb.Grant("status", "group:ops")
	return tb, m
}

func get(t *testing.T, tb *bottest.Bot, path string) *httptest.ResponseRecorder {
	t.Helper()
	for _, r := range tb.Bot.Routes() {
		if r.Scope == "" && strings.HasSuffix(r.Pattern, " "+path) {
			rec := httptest.NewRecorder()
			r.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://status.test"+path, nil))
			return rec
		}
	}
	t.Fatalf("no public route %s", path)
	return nil
}

func TestComponentStates(t *testing.T) {
	tb, _ := newBot(t, cfg)
	require.Contains(t, tb.Say("alice", "ops", "status?"), "All Systems Operational")

	reply := tb.Say("alice", "ops", "status Build Processing degraded")
	require.Contains(t, reply, "Build Processing: operational → **degraded performance**")
	require.Contains(t, reply, "No incident is open", "a component going down without an incident asks for a message")
	tb.WaitFor("announce", "Build Processing: operational → **degraded performance** (by alice)")

	require.Contains(t, tb.Say("alice", "ops", "status build processing?"), "Build Processing: degraded performance")
	require.Contains(t, tb.Say("alice", "ops", "status ci major outage"), "degraded performance → **major outage**")
	require.Contains(t, tb.Say("alice", "ops", "status CI major"), "already major outage")
	require.Contains(t, tb.Say("alice", "ops", "status?"), "Major System Outage")

	// A near miss is offered, never applied.
	ps := tb.Send(tb.Message("alice", "ops", "status Buld Processing operational"))
	require.Len(t, ps, 1)
	require.Contains(t, ps[0].Post.Text, `I know no component "Buld Processing"`)
	require.Contains(t, ps[0].Post.Text, "Build Processing", "offered as a numbered choice (the test chat has no buttons)")
	require.Contains(t, tb.Say("alice", "ops", "status?"), "Build Processing: major outage", "not applied by guessing")
	require.Contains(t, tb.Say("alice", "ops", "1"), "Build Processing: major outage → **operational**", "the choice, when taken, applies")
	require.Contains(t, tb.Say("alice", "ops", "status builds major"), "operational → **major outage**")
	require.Contains(t, tb.Say("alice", "ops", "status?"), "Build Processing: major outage")
	require.Contains(t, tb.Say("alice", "ops", "status Nothing Like It degraded"), "The components: API, Build Processing, Website")

	// Guests may look but not change.
	require.Contains(t, tb.Say("guest", "ops", "status API?"), "API: operational")
	require.Contains(t, tb.Say("guest", "ops", "status API major"), "needs the permission `status`")

	var doc struct {
		Status     struct{ Indicator, Description string }
		Components []struct{ Name, Status string }
	}
	require.NoError(t, json.Unmarshal(get(t, tb, "/status.json").Body.Bytes(), &doc))
	require.Equal(t, "critical", doc.Status.Indicator)
	require.Equal(t, "major_outage", doc.Components[1].Status)
}

func TestPromptOpensIncident(t *testing.T) {
	tb, _ := newBot(t, cfg)
	var ps []bottest.Posted
	for _, p := range tb.Send(tb.Message("alice", "ops", "status API partial")) {
		if p.Room == "ops" {
			ps = append(ps, p)
		}
	}
	require.Len(t, ps, 2)
	prompt := ps[1]
	require.Contains(t, prompt.Post.Text, "Reply in this thread")
	m := tb.Message("alice", "ops", "Some API calls fail; we are on it")
	m.Thread = prompt.Ref
	reply := bottest.Texts(tb.Send(m))
	require.Contains(t, reply, "Incident #1 opened: **API partial outage** — investigating: Some API calls fail; we are on it")
	require.Contains(t, reply, "Affects API")
}

func TestIncidentTimeline(t *testing.T) {
	tb, _ := newBot(t, cfg)
	require.Contains(t, tb.Say("alice", "ops", "status update Fix deployed"), "No incident is open")
	require.Contains(t, tb.Say("alice", "ops", "status open investigating Builds delayed"), "NAME: MESSAGE")
	require.Contains(t, tb.Say("alice", "ops", "status open investigating Builds delayed: we are looking into it"),
		"Incident #1 opened: **Builds delayed** — investigating: we are looking into it")
	tb.Clock.Advance(10 * time.Minute)
	require.Contains(t, tb.Say("alice", "ops", "status incidents"), "#1 Builds delayed — investigating, opened 10m ago")
	require.Contains(t, tb.Say("alice", "ops", "status update identified A stuck queue"), "identified: A stuck queue")
	tb.Clock.Advance(10 * time.Minute)
	require.Contains(t, tb.Say("alice", "ops", "status update #1 monitoring Fix deployed"), "monitoring: Fix deployed")
	require.Contains(t, tb.Say("alice", "ops", "status update #7 Fix deployed"), "There is no incident #7")
	tb.Clock.Advance(10 * time.Minute)
	require.Contains(t, tb.Say("alice", "ops", "status resolve"), "resolved: This incident has been resolved.")
	require.Contains(t, tb.Say("alice", "ops", "status incidents"), "No open incidents")

	var doc struct {
		Incidents []struct {
			ID      int64
			Name    string
			Status  string
			Updates []struct{ Status, Body string } `json:"incident_updates"`
		}
	}
	require.NoError(t, json.Unmarshal(get(t, tb, "/status.json").Body.Bytes(), &doc))
	require.Len(t, doc.Incidents, 1)
	require.Equal(t, "resolved", doc.Incidents[0].Status)
	var statuses []string
	for _, u := range doc.Incidents[0].Updates {
		statuses = append(statuses, u.Status)
	}
	require.Equal(t, []string{"resolved", "monitoring", "identified", "investigating"}, statuses)
}

func TestAtlassianMirror(t *testing.T) {
	fake := atlassiantest.New(t, "pg1", "key-123", "API", "Build Processing", "Website")
	tb, _ := newBot(t, cfg+"  atlassian:\n    page_id: pg1\n    api_key: key-123\n    base_url: "+fake.BaseURL()+"\n")
	require.NotContains(t, tb.Say("alice", "ops", "status builds degraded"), "mirror failed")
	require.Equal(t, "degraded_performance", fake.ComponentStatus("Build Processing"))
	require.NotContains(t, tb.Say("alice", "ops", "status open identified Builds delayed: a stuck queue"), "mirror failed")
	require.NotContains(t, tb.Say("alice", "ops", "status update monitoring Fix deployed"), "mirror failed")
	require.NotContains(t, tb.Say("alice", "ops", "status resolve all good"), "mirror failed")
	incs := fake.Incidents()
	require.Len(t, incs, 1)
	require.Equal(t, "resolved", incs[0].Status)
	require.Len(t, incs[0].Updates, 3)
	require.Equal(t, "all good", incs[0].Updates[0].Body)
	require.Equal(t, "a stuck queue", incs[0].Updates[2].Body)
	require.NotContains(t, tb.Logs(), "key-123")
}

func TestAtlassianMirrorFailureKeepsTheChange(t *testing.T) {
	fake := atlassiantest.New(t, "pg1", "the-right-key", "API")
	tb, _ := newBot(t, cfg+"  atlassian:\n    page_id: pg1\n    api_key: wrong-key\n    base_url: "+fake.BaseURL()+"\n")
	reply := tb.Say("alice", "ops", "status API major")
	require.Contains(t, reply, "API: operational → **major outage**")
	require.Contains(t, reply, "saved, but the Statuspage mirror failed: statuspage API: HTTP 401: Could not authenticate")
	require.NotContains(t, reply, "wrong-key")
	require.Contains(t, tb.Say("alice", "ops", "status API?"), "API: major outage")
}
