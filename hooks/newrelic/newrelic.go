// Package newrelic parses New Relic alert notifications: the workflow
// webhook's default payload (issueId/id, title, priority, state, issueUrl…)
// and the legacy webhook channel's (incident_id, current_state, severity…).
// New Relic sets custom headers on a webhook destination: the token goes as
// "Authorization: Bearer TOKEN" (or X-Opsbot-Token).
package newrelic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Source is the New Relic source.
type Source struct{ auth hooks.TokenAuth }

var _ hooks.Source = (*Source)(nil)

// New returns the source for a token.
func New(token string) (*Source, error) {
	if token == "" {
		return nil, errors.New("newrelic: a token is required")
	}
	return &Source{auth: hooks.TokenAuth{Token: token}}, nil
}

// Verify checks the token.
func (s *Source) Verify(r *hooks.Request) error { return s.auth.Verify(r) }

// stringish reads a string or a list of strings (New Relic templates render
// some variables as arrays).
type stringish []string

func (s *stringish) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringish{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

func (s stringish) String() string { return strings.Join(s, ", ") }

type payload struct {
	// workflow
	ID                  string      `json:"id"`
	IssueID             string      `json:"issueId"`
	IssueURL            string      `json:"issueUrl"`
	IssuePageURL        string      `json:"issuePageUrl"`
	Title               stringish   `json:"title"`
	Priority            string      `json:"priority"`
	State               string      `json:"state"`
	Trigger             string      `json:"trigger"`
	ImpactedEntities    stringish   `json:"impactedEntities"`
	AlertPolicyNames    stringish   `json:"alertPolicyNames"`
	AlertConditionNames stringish   `json:"alertConditionNames"`
	WorkflowName        string      `json:"workflowName"`
	CreatedAt           json.Number `json:"createdAt"`
	UpdatedAt           json.Number `json:"updatedAt"`
	// legacy
	IncidentID    json.Number `json:"incident_id"`
	CurrentState  string      `json:"current_state"`
	Severity      string      `json:"severity"`
	Details       string      `json:"details"`
	IncidentURL   string      `json:"incident_url"`
	PolicyName    string      `json:"policy_name"`
	ConditionName string      `json:"condition_name"`
	Timestamp     json.Number `json:"timestamp"`
	Targets       []struct {
		Name string `json:"name"`
	} `json:"targets"`
}

// Severity maps New Relic's priority or legacy severity: CRITICAL and HIGH
// are critical, MEDIUM and WARNING warning, LOW and INFO info.
func Severity(s string) event.Severity {
	switch strings.ToUpper(s) {
	case "CRITICAL", "HIGH":
		return event.Critical
	case "LOW", "INFO":
		return event.Info
	}
	return event.Warning
}

func millis(n json.Number) time.Time {
	v, err := n.Int64()
	if err != nil || v <= 0 {
		return time.Time{}
	}
	if v < 1e11 { // seconds
		return time.Unix(v, 0).UTC()
	}
	return time.UnixMilli(v).UTC()
}

// Parse maps the notification to one alert.newrelic event; CLOSED (legacy
// "closed") resolves it.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	if p.IncidentID != "" {
		return legacy(&p)
	}
	id := hooks.First(p.IssueID, p.ID)
	if id == "" {
		return nil, hooks.Missing("id")
	}
	if p.State == "" {
		return nil, hooks.Missing("state")
	}
	st := event.Firing
	if strings.EqualFold(p.State, "CLOSED") || strings.EqualFold(p.State, "RESOLVED") {
		st = event.Resolved
	}
	title := hooks.First(p.Title.String(), p.AlertConditionNames.String(), "New Relic issue "+id)
	var text []string
	if s := p.ImpactedEntities.String(); s != "" {
		text = append(text, "Impacted: "+s)
	}
	return []event.Event{{
		Tag: "alert.newrelic", Status: st, Severity: Severity(p.Priority),
		Title: title, Text: strings.Join(text, "\n"),
		Labels: hooks.Labels("state", p.State, "policy", p.AlertPolicyNames.String(), "condition", p.AlertConditionNames.String(),
			"workflow", p.WorkflowName, "issue_id", id, hooks.LabelSourceSeverity, p.Priority),
		Links:       hooks.Links("issue", hooks.First(p.IssuePageURL, p.IssueURL)),
		Fingerprint: "newrelic:" + id,
		Time:        millis(hooks.FirstNumber(p.UpdatedAt, p.CreatedAt)),
	}}, nil
}

func legacy(p *payload) ([]event.Event, error) {
	if p.CurrentState == "" {
		return nil, hooks.Missing("current_state")
	}
	st := event.Firing
	if strings.EqualFold(p.CurrentState, "closed") {
		st = event.Resolved
	}
	var targets []string
	for _, t := range p.Targets {
		targets = append(targets, t.Name)
	}
	title := hooks.First(p.ConditionName, p.Details, "incident "+p.IncidentID.String())
	if len(targets) > 0 {
		title += " on " + strings.Join(targets, ", ")
	}
	return []event.Event{{
		Tag: "alert.newrelic", Status: st, Severity: Severity(p.Severity),
		Title: title, Text: p.Details,
		Labels: hooks.Labels("state", p.CurrentState, "policy", p.PolicyName, "condition", p.ConditionName,
			"incident_id", p.IncidentID.String(), hooks.LabelSourceSeverity, p.Severity),
		Links:       hooks.Links("incident", p.IncidentURL),
		Fingerprint: fmt.Sprintf("newrelic:incident:%s", p.IncidentID),
		Time:        millis(p.Timestamp),
	}}, nil
}
