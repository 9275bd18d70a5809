// Package opsgenie parses Opsgenie's outgoing Webhook integration (alert
// actions Create, Acknowledge, UnAcknowledge, Close, Escalate…). Opsgenie
// does not sign; it adds custom headers: the token goes as
// "Authorization: Bearer TOKEN" or X-Opsbot-Token.
package opsgenie

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Source is the Opsgenie source.
type Source struct{ auth hooks.TokenAuth }

var _ hooks.Source = (*Source)(nil)

// New returns the source for a token.
func New(token string) (*Source, error) {
	if token == "" {
		return nil, errors.New("opsgenie: a token is required")
	}
	return &Source{auth: hooks.TokenAuth{Token: token}}, nil
}

// Verify checks the token.
func (s *Source) Verify(r *hooks.Request) error { return s.auth.Verify(r) }

type payload struct {
	Action string `json:"action"`
	Alert  *struct {
		AlertID     string      `json:"alertId"`
		TinyID      string      `json:"tinyId"`
		Alias       string      `json:"alias"`
		Message     string      `json:"message"`
		Description string      `json:"description"`
		Priority    string      `json:"priority"`
		Username    string      `json:"username"`
		Source      string      `json:"source"`
		Entity      string      `json:"entity"`
		Tags        []string    `json:"tags"`
		Teams       []string    `json:"teams"`
		CreatedAt   json.Number `json:"createdAt"` // ms
		UpdatedAt   json.Number `json:"updatedAt"` // ns, above 2^53: kept exact
	} `json:"alert"`
	IntegrationName string `json:"integrationName"`
}

// Severity maps Opsgenie's priority: P1 and P2 critical, P3 (the default)
// warning, P4 and P5 info.
func Severity(p string) event.Severity {
	switch strings.ToUpper(p) {
	case "P1", "P2":
		return event.Critical
	case "P4", "P5":
		return event.Info
	}
	return event.Warning
}

// verbs of the mapped actions; Close resolves, the others keep firing.
var verbs = map[string]string{
	"Create": "", "Acknowledge": "acknowledged", "UnAcknowledge": "unacknowledged",
	"Close": "closed", "Escalate": "escalated", "EscalateToNext": "escalated", "Delete": "deleted",
}

// Parse maps an alert action to one alert.opsgenie event keyed by the alert.
// Other actions (AddNote, AddTag, AssignOwnership, …) are ignored.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	if p.Action == "" {
		return nil, hooks.Missing("action")
	}
	verb, ok := verbs[p.Action]
	if !ok {
		return nil, hooks.Ignore("opsgenie action %q", p.Action)
	}
	a := p.Alert
	if a == nil || a.AlertID == "" {
		return nil, hooks.Missing("alert.alertId")
	}
	msg := strings.TrimSpace(a.Message)
	if msg == "" {
		return nil, hooks.Missing("alert.message")
	}
	title := msg
	if verb != "" {
		title = fmt.Sprintf("%s %s: %s", hooks.First(a.Username, "someone"), verb, msg)
	}
	st := event.Firing
	if p.Action == "Close" || p.Action == "Delete" {
		st = event.Resolved
	}
	e := event.Event{
		Tag: "alert.opsgenie", Status: st, Severity: Severity(a.Priority), Title: title, Text: a.Description,
		Labels: hooks.Labels("action", strings.ToLower(p.Action), "alias", a.Alias, "tiny_id", a.TinyID, "entity", a.Entity,
			"alert_source", a.Source, "user", a.Username, "teams", strings.Join(a.Teams, ","), "tags", strings.Join(a.Tags, ","),
			"integration", p.IntegrationName, hooks.LabelSourceSeverity, a.Priority),
		Fields:      hooks.Labels("updated_at", a.UpdatedAt.String(), "created_at", a.CreatedAt.String()),
		Fingerprint: "opsgenie:" + a.AlertID,
	}
	if ns, err := a.UpdatedAt.Int64(); err == nil && ns > 0 {
		e.Time = time.Unix(0, ns).UTC()
	} else if ms, err := a.CreatedAt.Int64(); err == nil && ms > 0 {
		e.Time = time.UnixMilli(ms).UTC()
	}
	return []event.Event{e}, nil
}
