// Package sentry parses Sentry integration-platform webhooks: issue alerts
// (resource event_alert), metric alerts (metric_alert) and issues (issue),
// verified by Sentry-Hook-Signature, the hex HMAC-SHA256 of the raw body
// keyed with the integration's client secret. Sentry-Hook-Timestamp, when
// sent, must be within the tolerance.
package sentry

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Headers Sentry sends.
const (
	SignatureHeader = "Sentry-Hook-Signature"
	TimestampHeader = "Sentry-Hook-Timestamp"
	ResourceHeader  = "Sentry-Hook-Resource"
)

// Source is the Sentry source.
type Source struct {
	secret    string
	tolerance time.Duration
}

var _ hooks.Source = (*Source)(nil)

// New returns the source for the integration's client secret; tolerance
// bounds the timestamp's age (default 5m).
func New(secret string, tolerance time.Duration) (*Source, error) {
	if secret == "" {
		return nil, errors.New("sentry: the integration's client secret is required")
	}
	if tolerance <= 0 {
		tolerance = hooks.DefaultTolerance
	}
	return &Source{secret: secret, tolerance: tolerance}, nil
}

// Verify checks the signature and, when present, the timestamp. The
// timestamp is not covered by Sentry's signature: it catches a stale replay
// of an unchanged delivery, not a forged header.
func (s *Source) Verify(r *hooks.Request) error {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return hooks.Unauthorized("missing %s", SignatureHeader)
	}
	if !hooks.ValidHexHMAC(s.secret, sig, r.Body) {
		return hooks.Unauthorized("invalid %s", SignatureHeader)
	}
	if ts := r.Header.Get(TimestampHeader); ts != "" {
		return hooks.CheckTimestamp(ts, r.Now, s.tolerance)
	}
	return nil
}

type payload struct {
	Action string `json:"action"`
	Data   struct {
		Event *struct {
			EventID     string      `json:"event_id"`
			Title       string      `json:"title"`
			Message     string      `json:"message"`
			Culprit     string      `json:"culprit"`
			Level       string      `json:"level"`
			WebURL      string      `json:"web_url"`
			IssueID     string      `json:"issue_id"`
			Environment *string     `json:"environment"`
			Datetime    string      `json:"datetime"`
			Project     json.Number `json:"project"`
		} `json:"event"`
		TriggeredRule string `json:"triggered_rule"`

		MetricAlert *struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			DateStarted string `json:"date_started"`
			AlertRule   struct {
				Name string `json:"name"`
			} `json:"alert_rule"`
		} `json:"metric_alert"`
		DescriptionText  string `json:"description_text"`
		DescriptionTitle string `json:"description_title"`
		WebURL           string `json:"web_url"`

		Issue *struct {
			ID        string `json:"id"`
			Title     string `json:"title"`
			Culprit   string `json:"culprit"`
			Level     string `json:"level"`
			Status    string `json:"status"`
			Permalink string `json:"permalink"`
			WebURL    string `json:"web_url"`
			Project   struct {
				Slug string `json:"slug"`
			} `json:"project"`
		} `json:"issue"`
	} `json:"data"`
}

// Severity maps a Sentry level: fatal critical, error and warning warning,
// info and debug info.
func Severity(level string) event.Severity {
	switch strings.ToLower(level) {
	case "fatal":
		return event.Critical
	case "info", "debug", "sample":
		return event.Info
	}
	return event.Warning
}

// Parse maps the delivery by its Sentry-Hook-Resource; other resources
// (installation, comment, error) are ignored.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	res := r.Header.Get(ResourceHeader)
	if res == "" {
		return nil, hooks.Malformed("missing header %s", ResourceHeader)
	}
	switch res {
	case "event_alert", "metric_alert", "issue":
	default:
		return nil, hooks.Ignore("Sentry resource %q is not mapped", res)
	}
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	if p.Action == "" {
		return nil, hooks.Missing("action")
	}
	switch res {
	case "event_alert":
		return eventAlert(&p)
	case "metric_alert":
		return metricAlert(&p)
	default:
		return issue(&p)
	}
}

func eventAlert(p *payload) ([]event.Event, error) {
	ev := p.Data.Event
	if ev == nil {
		return nil, hooks.Missing("data.event")
	}
	if ev.Title == "" {
		return nil, hooks.Missing("data.event.title")
	}
	env := ""
	if ev.Environment != nil {
		env = *ev.Environment
	}
	title := ev.Title
	if p.Data.TriggeredRule != "" {
		title = p.Data.TriggeredRule + ": " + title
	}
	return []event.Event{{
		Tag: "alert.sentry", Status: event.Firing, Severity: Severity(ev.Level), Title: title,
		Text: hooks.First(ev.Message, ev.Culprit),
		Labels: hooks.Labels("rule", p.Data.TriggeredRule, "issue_id", ev.IssueID, "environment", env,
			"project_id", ev.Project.String(), "culprit", ev.Culprit, hooks.LabelSourceSeverity, ev.Level),
		Links:       hooks.Links("event", ev.WebURL),
		Fingerprint: "sentry:event:" + hooks.First(ev.EventID, ev.IssueID),
		Time:        hooks.Time(ev.Datetime),
	}}, nil
}

func metricAlert(p *payload) ([]event.Event, error) {
	ma := p.Data.MetricAlert
	if ma == nil || ma.ID == "" {
		return nil, hooks.Missing("data.metric_alert.id")
	}
	var st event.Status
	var sev event.Severity
	switch p.Action {
	case "critical":
		st, sev = event.Firing, event.Critical
	case "warning":
		st, sev = event.Firing, event.Warning
	case "resolved":
		st, sev = event.Resolved, event.Info
	default:
		return nil, hooks.Ignore("metric_alert action %q", p.Action)
	}
	return []event.Event{{
		Tag: "alert.sentry", Status: st, Severity: sev,
		Title:       hooks.First(p.Data.DescriptionTitle, ma.Title, ma.AlertRule.Name),
		Text:        p.Data.DescriptionText,
		Labels:      hooks.Labels("rule", ma.AlertRule.Name, "kind", "metric_alert", hooks.LabelSourceSeverity, p.Action),
		Links:       hooks.Links("alert", p.Data.WebURL),
		Fingerprint: "sentry:metric_alert:" + ma.ID,
		Time:        hooks.Time(ma.DateStarted),
	}}, nil
}

func issue(p *payload) ([]event.Event, error) {
	is := p.Data.Issue
	if is == nil || is.ID == "" {
		return nil, hooks.Missing("data.issue.id")
	}
	st := event.Firing
	switch p.Action {
	case "created", "unresolved":
	case "resolved", "archived", "ignored":
		st = event.Resolved
	default:
		return nil, hooks.Ignore("issue action %q", p.Action)
	}
	return []event.Event{{
		Tag: "alert.sentry", Status: st, Severity: Severity(is.Level),
		Title:  fmt.Sprintf("issue %s: %s", p.Action, is.Title),
		Text:   is.Culprit,
		Labels: hooks.Labels("kind", "issue", "project", is.Project.Slug, "issue_status", is.Status, hooks.LabelSourceSeverity, is.Level),
		Links:  hooks.Links("issue", hooks.First(is.WebURL, is.Permalink)),
		// One fingerprint per issue, so "resolved" clears "created".
		Fingerprint: "sentry:issue:" + is.ID,
	}}, nil
}
