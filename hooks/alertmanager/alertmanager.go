// Package alertmanager parses Prometheus Alertmanager's webhook (payload
// version 4): one event per alert of the group, firing or resolved, keyed by
// the alert's fingerprint. Alertmanager does not sign its body; it
// authenticates with the receiver's http_config (bearer token or basic auth).
package alertmanager

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Message is the webhook body (Alertmanager's notify/webhook.Message; Grafana
// sends the same shape with a few more fields).
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []Alert           `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
}

// Alert is one alert of the group.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`

	// Grafana's additions.
	SilenceURL   string `json:"silenceURL"`
	DashboardURL string `json:"dashboardURL"`
	PanelURL     string `json:"panelURL"`
	ImageURL     string `json:"imageURL"`
}

// Source is the Alertmanager webhook source.
type Source struct{ auth hooks.TokenAuth }

var _ hooks.Source = (*Source)(nil)

// New returns the source for a token, sent by Alertmanager as a bearer token
// (http_config.authorization.credentials) or as the basic-auth password
// (http_config.basic_auth) with username, when username is set.
func New(token, username string) (*Source, error) {
	if token == "" {
		return nil, errors.New("alertmanager: a token is required")
	}
	return &Source{auth: hooks.TokenAuth{Token: token, Username: username}}, nil
}

// Verify checks the token.
func (s *Source) Verify(r *hooks.Request) error { return s.auth.Verify(r) }

// Parse maps each alert to an event tagged alert.alertmanager.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var m Message
	if err := hooks.Decode(r.Body, &m); err != nil {
		return nil, err
	}
	if m.Version == "" {
		return nil, hooks.Missing("version")
	}
	if m.Version != "4" {
		return nil, hooks.Malformed("unsupported payload version %q (want \"4\")", m.Version)
	}
	return Events("alert.alertmanager", "alertmanager", &m)
}

// Events maps the alerts of a message: used by Alertmanager and Grafana.
func Events(tag, source string, m *Message) ([]event.Event, error) {
	if m.Alerts == nil {
		return nil, hooks.Missing("alerts")
	}
	out := make([]event.Event, 0, len(m.Alerts))
	for i, a := range m.Alerts {
		e, err := alertEvent(tag, source, &a)
		if err != nil {
			return nil, hooks.Malformed("alerts[%d]: %v", i, strings.TrimPrefix(err.Error(), hooks.ErrMalformed.Error()+": "))
		}
		if m.Receiver != "" {
			e.Labels["receiver"] = m.Receiver
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, hooks.Ignore("the group has no alerts")
	}
	return out, nil
}

func alertEvent(tag, source string, a *Alert) (event.Event, error) {
	var st event.Status
	switch a.Status {
	case "firing":
		st = event.Firing
	case "resolved":
		st = event.Resolved
	case "":
		return event.Event{}, hooks.Missing("status")
	default:
		return event.Event{}, hooks.Malformed("status %q is neither firing nor resolved", a.Status)
	}
	if len(a.Labels) == 0 {
		return event.Event{}, hooks.Missing("labels")
	}
	name := a.Labels["alertname"]
	labels := make(map[string]string, len(a.Labels)+1)
	for k, v := range a.Labels {
		labels[k] = v
	}
	sev := a.Labels["severity"]
	if sev != "" {
		labels[hooks.LabelSourceSeverity] = sev
	}
	title := hooks.First(a.Annotations["summary"], a.Annotations["title"], name, "alert")
	if name != "" && title != name && !strings.Contains(title, name) {
		title = name + ": " + title
	}
	text := hooks.First(a.Annotations["description"], a.Annotations["message"], a.Annotations["info"])
	fields := map[string]string{}
	for k, v := range a.Annotations {
		fields[k] = v
	}
	fp := a.Fingerprint
	if fp == "" {
		fp = labelKey(a.Labels)
	}
	t := hooks.Time(a.StartsAt)
	if st == event.Resolved {
		if end := hooks.Time(a.EndsAt); !end.IsZero() {
			t = end
		}
	}
	return event.Event{
		Tag: tag, Status: st, Severity: hooks.Severity(sev, event.Warning),
		Title: title, Text: text, Labels: labels, Fields: fields,
		Links: hooks.Links("source", a.GeneratorURL, "runbook", a.Annotations["runbook_url"],
			"dashboard", a.DashboardURL, "panel", a.PanelURL, "silence", a.SilenceURL, "image", a.ImageURL),
		Fingerprint: source + ":" + fp,
		Time:        t.UTC().Truncate(time.Millisecond),
	}, nil
}

// labelKey identifies an alert by its sorted labels when it has no fingerprint.
func labelKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, l[k])
	}
	return b.String()
}
