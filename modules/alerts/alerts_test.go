package alerts_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/alert/opsgenie/opsgenietest"
	"github.com/opsbot/opsbot/alert/pagerduty/pagerdutytest"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/modules/alerts"
	"github.com/opsbot/opsbot/modules/status"
)

// The bottest clock starts on Sunday 2026-11-22 09:00 UTC; the rotation
// hands over on Mondays at 09:00 Paris time, alice first from 2026-11-16.
const oncallCfg = `alerts:
  room: alerts
oncall:
  teams:
    - name: ops
      room: ops
      rotation:
        members: [alice, bob, carol]
        start: "2026-11-16"
        handoff: "09:00"
        every: 1w
        timezone: Europe/Paris
      escalation:
        - {after: 0s, notify: primary}
        - {after: 5m, notify: primary}
        - {after: 15m, notify: secondary}
        - {after: 30m, notify: room}
`

type harness struct {
	*bottest.Bot
	alerts *alerts.Module
}

func newHarness(t *testing.T, yaml string) harness {
	t.Helper()
	m := alerts.New()
	tb := bottest.New(t, bottest.Modules(status.New(), m, alerts.NewOnCall()), bottest.Config(yaml))
	for _, u := range []string{"alice", "bob", "carol"} {
		tb.User(u, "ops")
	}
	tb.Grant("alerts", "group:ops")
	tb.Grant("status", "group:ops")
	return harness{Bot: tb, alerts: m}
}

func (h harness) ingest(t *testing.T, es ...event.Event) {
	t.Helper()
	for i := range es {
		if es[i].Time.IsZero() {
			es[i].Time = h.Clock.Now()
		}
		if es[i].Source == "" {
			es[i].Source = "test"
		}
	}
	_, err := h.Bot.Bot.Ingester().Ingest(h.Ctx, es)
	require.NoError(t, err)
}

// posts returns the texts posted in room so far.
func (h harness) posts(room string) []string {
	var out []string
	for _, p := range h.Chat.All() {
		if p.Room == room {
			out = append(out, p.Post.Text)
		}
	}
	return out
}

func (h harness) countIn(room, substr string) int {
	n := 0
	for _, p := range h.posts(room) {
		if strings.Contains(p, substr) {
			n++
		}
	}
	return n
}

func TestEscalationWithInjectedClock(t *testing.T) {
	h := newHarness(t, oncallCfg)
	require.Contains(t, h.Say("carol", "ops", "oncall"), "ops: **alice** is on call until Mon Nov 23 09:00 CET, then bob")

	h.ingest(t, event.Event{Tag: "monitor.firing", Severity: event.Critical, Status: event.Firing, Title: "api: error rate 12%", Fingerprint: "api-errors"})
	h.WaitFor("ops", "Alert #1 [critical] api: error rate 12%")     // the team's room
	h.WaitFor("alice", "🔔 Alert #1 [critical] api: error rate 12%") // step 1, at once
	h.WaitFor("ops", "escalation step 1/4: paged alice (primary on call for ops)")

	h.Clock.Advance(4 * time.Minute)
	h.alerts.EscalateDue(h.Ctx)
	require.Equal(t, 1, h.countIn("alice", "🔔"), "nothing is due before 5 minutes")

	h.Clock.Advance(time.Minute)
	h.WaitFor("ops", "escalation step 2/4: paged alice")
	require.Equal(t, 2, h.countIn("alice", "🔔"))

	h.Clock.Advance(10 * time.Minute)
	h.WaitFor("ops", "escalation step 3/4: paged bob (secondary on call for ops)")
	h.WaitFor("bob", "🔔 Alert #1")

	require.Contains(t, h.Say("bob", "ops", "alerts mine"), "#1 [critical] api: error rate 12% (15m)")
	require.Contains(t, h.Say("bob", "ops", "ack"), "Acknowledged #1 (bob).")
	h.Clock.Advance(time.Hour)
	h.alerts.EscalateDue(h.Ctx)
	require.Zero(t, h.countIn("ops", "@here"), "an ack stops the rest of the escalation")
	require.Contains(t, h.Say("alice", "ops", "alerts"), "#1 [critical] api: error rate 12% (1h15m, acknowledged by bob)")

	hist, err := h.alerts.Store().History(h.Ctx, 1)
	require.NoError(t, err)
	var kinds []string
	for _, e := range hist {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []string{"opened", "escalation", "escalation", "escalation", "acknowledged"}, kinds)
}

func TestEscalationReachesTheRoom(t *testing.T) {
	h := newHarness(t, oncallCfg)
	h.ingest(t, event.Event{Tag: "alert.grafana", Severity: event.Critical, Status: event.Firing, Title: "disk full", Fingerprint: "grafana:x"})
	h.WaitFor("alice", "🔔")
	h.Clock.Advance(30 * time.Minute)
	h.WaitFor("ops", "@here Alert #1 [critical] disk full has been unacknowledged for 30m")
	h.WaitFor("ops", "escalation step 4/4: mentioned the whole room")
	// Warnings do not escalate.
	h.ingest(t, event.Event{Tag: "alert.grafana", Severity: event.Warning, Status: event.Firing, Title: "disk 80%", Fingerprint: "grafana:y"})
	h.WaitFor("ops", "Alert #2 [warning] disk 80%")
	h.Clock.Advance(time.Hour)
	h.alerts.EscalateDue(h.Ctx)
	require.Zero(t, h.countIn("alice", "disk 80%"))
}

func TestAckCloseAndTheAPI(t *testing.T) {
	h := newHarness(t, oncallCfg)
	for _, fp := range []string{"a", "b", "c"} {
		h.ingest(t, event.Event{Tag: "alert.zabbix", Severity: event.Warning, Status: event.Firing, Title: "problem " + fp, Fingerprint: "zabbix:" + fp})
		h.WaitFor("ops", "problem "+fp)
	}
	// A refiring alert is the same alert.
	h.ingest(t, event.Event{Tag: "alert.zabbix", Severity: event.Warning, Status: event.Firing, Title: "problem a", Fingerprint: "zabbix:a"})
	require.Contains(t, h.Say("alice", "ops", "ack 2"), "Acknowledged #2 (alice).")
	require.Contains(t, h.Say("alice", "ops", "ack 2 9"), "Nothing to acknowledge. #2 is already acknowledged by alice; #9 does not exist.")
	require.Contains(t, h.Say("alice", "ops", "ack x"), `"x" is not an alert id`)
	require.Contains(t, h.Say("bob", "ops", "ack all"), "Acknowledged #1, #3 (bob).")
	require.Contains(t, h.Say("bob", "ops", "ack all"), "No open, unacknowledged alerts.")
	require.Contains(t, h.Say("bob", "ops", "close 1 #3"), "Closed #1, #3 (bob).")
	list := h.Say("bob", "ops", "alerts")
	require.Contains(t, list, "#2 [warning] problem b")
	require.NotContains(t, list, "problem a")

	// Resolution closes and posts "resolved".
	h.ingest(t, event.Event{Tag: "alert.zabbix", Severity: event.Warning, Status: event.Resolved, Title: "problem b", Fingerprint: "zabbix:b"})
	h.WaitFor("ops", "resolved: #2 problem b")
	require.Contains(t, h.Say("bob", "ops", "alerts"), "No open alerts.")

	// Guests may look, not ack.
	require.Contains(t, h.Say("stranger", "ops", "ack all"), "guest")

	var api *httptest.ResponseRecorder
	for _, r := range h.Bot.Bot.Routes() {
		if r.Pattern == "GET /api/v1/alerts" {
			require.Equal(t, "alerts:read", r.Scope)
			api = httptest.NewRecorder()
			r.Handler.ServeHTTP(api, httptest.NewRequest(http.MethodGet, "/api/v1/alerts?state=all&limit=2", nil))
		}
	}
	require.NotNil(t, api)
	require.Equal(t, http.StatusOK, api.Code)
	var doc struct {
		Alerts []struct {
			ID             int64
			State          string
			Title          string
			AcknowledgedBy string `json:"acknowledged_by"`
			ClosedBy       string `json:"closed_by"`
		}
		NextBefore int64 `json:"next_before"`
	}
	require.NoError(t, json.Unmarshal(api.Body.Bytes(), &doc))
	require.Len(t, doc.Alerts, 2)
	require.Equal(t, int64(3), doc.Alerts[0].ID)
	require.Equal(t, "closed", doc.Alerts[0].State)
	require.Equal(t, "bob", doc.Alerts[0].ClosedBy)
	require.Equal(t, int64(2), doc.NextBefore)

	for _, r := range h.Bot.Bot.Routes() {
		if r.Pattern == "GET /api/v1/alerts" {
			rec := httptest.NewRecorder()
			r.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/alerts?state=nope", nil))
			require.Equal(t, http.StatusBadRequest, rec.Code)
			require.Contains(t, rec.Body.String(), "state: must be")
		}
	}
}

func TestVendorsHearAcksAndCloses(t *testing.T) {
	og := opsgenietest.New(t, "og-key-1")
	pd := pagerdutytest.New(t, "pd-token-1")
	og.AddAlert("70413a06-38d6-4c85-92b8-5ebc900d42e2")
	pd.AddIncident("PGR0VU2")
	og.SetSchedule("ops_schedule", opsgenietest.Schedule{Now: []string{"dave@example.com"}, Next: []string{"erin@example.com"}})
	pd.SetShifts("PSCHED1",
		pagerdutytest.Shift{User: "Frank", Start: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		pagerdutytest.Shift{User: "Grace", Start: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)})
	cfg := `alerts:
  room: alerts
oncall:
  default: web
  teams:
    - name: web
      provider: opsgenie
      schedule: ops_schedule
      opsgenie: {api_key: og-key-1, base_url: "` + og.URL + `"}
      users: {"dave@example.com": dave}
    - name: db
      provider: pagerduty
      schedule: PSCHED1
      match: {service: database}
      pagerduty: {token: pd-token-1, from: bot@example.com, base_url: "` + pd.URL + `"}
`
	h := newHarness(t, cfg)
	reply := h.Say("alice", "ops", "oncall")
	require.Contains(t, reply, "web: **dave** is on call, then erin@example.com")
	require.Contains(t, reply, "db: **Frank** is on call, then Grace")

	h.ingest(t,
		event.Event{Tag: "alert.opsgenie", Severity: event.Critical, Status: event.Firing, Title: "CPU high on web1",
			Fingerprint: "opsgenie:70413a06-38d6-4c85-92b8-5ebc900d42e2", Labels: map[string]string{"action": "create"}},
		event.Event{Tag: "alert.pagerduty", Severity: event.Warning, Status: event.Firing, Title: "[#2] replica lag",
			Fingerprint: "pagerduty:PGR0VU2", Labels: map[string]string{"event_type": "incident.triggered", "service": "database"}})
	h.WaitFor("alerts", "replica lag")
	require.Contains(t, h.Say("alice", "ops", "ack 1 2"), "Acknowledged #1, #2 (alice).")
	a, _ := og.Alert("70413a06-38d6-4c85-92b8-5ebc900d42e2")
	require.True(t, a.Acknowledged)
	require.Equal(t, []string{"alice"}, a.Users)
	inc, _ := pd.Incident("PGR0VU2")
	require.Equal(t, "acknowledged", inc.Status)
	require.Equal(t, []string{"bot@example.com"}, inc.From)

	require.Contains(t, h.Say("alice", "ops", "close 1 2"), "Closed #1, #2 (alice).")
	a, _ = og.Alert("70413a06-38d6-4c85-92b8-5ebc900d42e2")
	require.Equal(t, "closed", a.Status)
	inc, _ = pd.Incident("PGR0VU2")
	require.Equal(t, "resolved", inc.Status)

	// The vendors' own webhooks about those changes open nothing new.
	h.ingest(t, event.Event{Tag: "alert.opsgenie", Severity: event.Critical, Status: event.Firing, Title: "alice acknowledged: CPU high on web1",
		Fingerprint: "opsgenie:70413a06-38d6-4c85-92b8-5ebc900d42e2", Labels: map[string]string{"action": "acknowledge", "user": "alice"}})
	h.ingest(t, event.Event{Tag: "alert.pagerduty", Severity: event.Warning, Status: event.Resolved, Title: "[#2] replica lag — resolved by alice",
		Fingerprint: "pagerduty:PGR0VU2", Labels: map[string]string{"event_type": "incident.resolved"}})

	// An acknowledgement made in PagerDuty shows here.
	pd.AddIncident("PNEW")
	h.ingest(t, event.Event{Tag: "alert.pagerduty", Severity: event.Critical, Status: event.Firing, Title: "[#3] queue stuck",
		Fingerprint: "pagerduty:PNEW", Labels: map[string]string{"event_type": "incident.triggered"}})
	h.WaitFor("alerts", "queue stuck")
	h.ingest(t, event.Event{Tag: "alert.pagerduty", Severity: event.Critical, Status: event.Firing, Title: "[#3] queue stuck — acknowledged by Grace",
		Fingerprint: "pagerduty:PNEW", Labels: map[string]string{"event_type": "incident.acknowledged"}})
	h.WaitFor("alerts", "#3 acknowledged in pagerduty by Grace")

	// A vendor that fails is reported, the change here stands.
	og.AddAlert("gone")
	h.ingest(t, event.Event{Tag: "alert.opsgenie", Severity: event.Warning, Status: event.Firing, Title: "orphan", Fingerprint: "opsgenie:missing-at-vendor"})
	h.WaitFor("alerts", "orphan")
	reply = h.Say("alice", "ops", "ack 4")
	require.Contains(t, reply, "Acknowledged #4 (alice).")
	require.Contains(t, reply, "Done here, but not at the vendor: #4: opsgenie API: HTTP 404: Alert with id [missing-at-vendor] does not exist")
	require.NotContains(t, h.Logs(), "og-key-1")
	require.NotContains(t, h.Logs(), "pd-token-1")
}

func TestFleetPanicPagesAndOpensAnIncident(t *testing.T) {
	h := newHarness(t, oncallCfg+`statuspage:
  room: status
  components: [{name: API}]
`)
	h.ingest(t, event.Event{Tag: "fleet.panic", Severity: event.Critical, Status: event.Firing, Title: "PANIC: 3 of 8 instances down in production",
		Labels: map[string]string{"by": "carol", "env": "production"}})
	h.WaitFor("alice", "🔔 Alert #1 [critical] PANIC: 3 of 8 instances down in production")
	h.WaitFor("status", "Incident #1 opened: **Platform problem in production** — investigating")
	h.WaitFor("ops", "Opened status page incident #1")
	require.Contains(t, h.Say("alice", "ops", "status incidents"), "#1 Platform problem in production — investigating")
}

func TestConfigErrors(t *testing.T) {
	_ = context.Background()
	for _, tc := range []struct{ yaml, want string }{
		{"oncall:\n  teams:\n    - name: x\n", "rotation: is required"},
		{"oncall:\n  teams:\n    - name: x\n      rotation: {members: [a], every: 36h}\n", "whole number of days"},
		{"oncall:\n  teams:\n    - name: x\n      rotation: {members: [a]}\n      escalation: [{after: 5m, notify: boss}]\n", `"boss" is not primary`},
		{"oncall:\n  teams:\n    - name: x\n      provider: pagerduty\n      schedule: P1\n      pagerduty: {token: t}\n", "pagerduty.from: is required"},
		{"alerts:\n  escalate: [urgent]\n", `"urgent" is not info, warning or critical`},
	} {
		_, err := loadConfig(t, tc.yaml)
		require.ErrorContains(t, err, tc.want, tc.yaml)
	}
}
