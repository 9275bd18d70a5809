// Package pagerduty parses PagerDuty v3 webhooks (incident.* events),
// verified by X-PagerDuty-Signature: one or more comma-separated "v1=<hex
// HMAC-SHA256 of the raw body>", one per subscription secret during a
// rotation; any match is enough.
package pagerduty

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// SignatureHeader is PagerDuty's signature header.
const SignatureHeader = "X-PagerDuty-Signature"

// Source is the PagerDuty source.
type Source struct{ secrets []string }

var _ hooks.Source = (*Source)(nil)

// New returns the source for the subscription's secrets (several while one
// is rotated).
func New(secrets ...string) (*Source, error) {
	var keep []string
	for _, s := range secrets {
		if s != "" {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return nil, errors.New("pagerduty: a webhook subscription secret is required")
	}
	return &Source{secrets: keep}, nil
}

// Verify accepts the delivery when any v1 signature matches any secret.
func (s *Source) Verify(r *hooks.Request) error {
	h := r.Header.Get(SignatureHeader)
	if h == "" {
		return hooks.Unauthorized("missing %s", SignatureHeader)
	}
	for _, part := range strings.Split(h, ",") {
		sig, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		for _, secret := range s.secrets {
			if hooks.ValidHexHMAC(secret, sig, r.Body) {
				return nil
			}
		}
	}
	return hooks.Unauthorized("invalid %s", SignatureHeader)
}

type ref struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url"`
}

type payload struct {
	Event *struct {
		ID           string `json:"id"`
		EventType    string `json:"event_type"`
		ResourceType string `json:"resource_type"`
		OccurredAt   string `json:"occurred_at"`
		Agent        *ref   `json:"agent"`
		Data         *struct {
			ID          string `json:"id"`
			Type        string `json:"type"`
			HTMLURL     string `json:"html_url"`
			Number      int    `json:"number"`
			Status      string `json:"status"`
			Title       string `json:"title"`
			IncidentKey string `json:"incident_key"`
			Urgency     string `json:"urgency"`
			Service     *ref   `json:"service"`
			Priority    *ref   `json:"priority"`
			Assignees   []ref  `json:"assignees"`
			Teams       []ref  `json:"teams"`
		} `json:"data"`
	} `json:"event"`
}

// Severity maps an incident's priority (P1, P2 critical; P3 warning; P4,
// P5 info) or, without one, its urgency (high critical, low warning).
func Severity(priority, urgency string) event.Severity {
	if priority != "" {
		return hooks.Severity(priority, event.Warning)
	}
	if strings.EqualFold(urgency, "high") {
		return event.Critical
	}
	return event.Warning
}

// Parse maps an incident.* event to one alert.pagerduty event keyed by the
// incident; incident.resolved resolves it. pagey.ping and non-incident
// events are ignored.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	ev := p.Event
	if ev == nil || ev.EventType == "" {
		return nil, hooks.Missing("event.event_type")
	}
	action, ok := strings.CutPrefix(ev.EventType, "incident.")
	if !ok {
		return nil, hooks.Ignore("PagerDuty event type %q is not mapped", ev.EventType)
	}
	d := ev.Data
	if d == nil || d.ID == "" {
		return nil, hooks.Missing("event.data.id")
	}
	if d.Title == "" {
		return nil, hooks.Missing("event.data.title")
	}
	st := event.Firing
	if action == "resolved" {
		st = event.Resolved
	}
	prio, service := "", ""
	if d.Priority != nil {
		prio = d.Priority.Summary
	}
	if d.Service != nil {
		service = d.Service.Summary
	}
	title := fmt.Sprintf("[#%d] %s", d.Number, d.Title)
	if action != "triggered" {
		title += " — " + strings.ReplaceAll(action, "_", " ")
		if ev.Agent != nil && ev.Agent.Summary != "" {
			title += " by " + ev.Agent.Summary
		}
	}
	var assignees []string
	for _, a := range d.Assignees {
		assignees = append(assignees, a.Summary)
	}
	var teams []string
	for _, t := range d.Teams {
		teams = append(teams, t.Summary)
	}
	return []event.Event{{
		Tag: "alert.pagerduty", Status: st, Severity: Severity(prio, d.Urgency), Title: title,
		Labels: hooks.Labels("event_type", ev.EventType, "service", service, "incident_status", d.Status, "urgency", d.Urgency,
			"assignees", strings.Join(assignees, ","), "teams", strings.Join(teams, ","), "incident_key", d.IncidentKey,
			hooks.LabelSourceSeverity, hooks.First(prio, d.Urgency)),
		Links:       hooks.Links("incident", d.HTMLURL),
		Fingerprint: "pagerduty:" + d.ID,
		Time:        hooks.Time(ev.OccurredAt),
	}}, nil
}
