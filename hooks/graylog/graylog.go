// Package graylog parses Graylog's HTTP event notification. Graylog does not
// sign it: the token goes in the URL (?token=…), as the basic-auth password,
// or in an API-key header (X-Opsbot-Token) where the Graylog version offers one.
package graylog

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Source is the Graylog source.
type Source struct{ auth hooks.TokenAuth }

var _ hooks.Source = (*Source)(nil)

// New returns the source for a token.
func New(token string) (*Source, error) {
	if token == "" {
		return nil, errors.New("graylog: a token is required")
	}
	return &Source{auth: hooks.TokenAuth{Token: token}}, nil
}

// Verify checks the token.
func (s *Source) Verify(r *hooks.Request) error { return s.auth.Verify(r) }

type payload struct {
	EventDefinitionID          string `json:"event_definition_id"`
	EventDefinitionType        string `json:"event_definition_type"`
	EventDefinitionTitle       string `json:"event_definition_title"`
	EventDefinitionDescription string `json:"event_definition_description"`
	Event                      *struct {
		ID        string            `json:"id"`
		Timestamp string            `json:"timestamp"`
		Message   string            `json:"message"`
		Source    string            `json:"source"`
		Key       string            `json:"key"`
		Priority  json.Number       `json:"priority"`
		Alert     bool              `json:"alert"`
		Fields    map[string]string `json:"fields"`
	} `json:"event"`
	Backlog []struct {
		Message string `json:"message"`
		Source  string `json:"source"`
	} `json:"backlog"`
}

// Severity maps Graylog's event priority: 1 (low) info, 2 (normal)
// warning, 3 (high) and above critical.
func Severity(priority string) event.Severity {
	switch priority {
	case "1", "0":
		return event.Info
	case "", "2":
		return event.Warning
	}
	return event.Critical
}

// Parse maps the notification to one alert.graylog event.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	if p.Event == nil {
		return nil, hooks.Missing("event")
	}
	ev := p.Event
	if ev.Message == "" && p.EventDefinitionTitle == "" {
		return nil, hooks.Missing("event.message")
	}
	prio := ev.Priority.String()
	title := hooks.First(p.EventDefinitionTitle, ev.Message)
	text := ev.Message
	if text == title {
		text = ""
	}
	var backlog strings.Builder
	for i, m := range p.Backlog {
		if i == 10 {
			fmt.Fprintf(&backlog, "… and %d more\n", len(p.Backlog)-10)
			break
		}
		fmt.Fprintf(&backlog, "- %s: %s\n", m.Source, m.Message)
	}
	if backlog.Len() > 0 {
		text = strings.TrimSpace(text + "\n\n" + backlog.String())
	}
	fields := map[string]string{}
	keys := make([]string, 0, len(ev.Fields))
	for k := range ev.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fields[k] = ev.Fields[k]
	}
	e := event.Event{
		Tag: "alert.graylog", Status: event.Firing, Severity: Severity(prio),
		Title: title, Text: text, Fields: fields,
		Labels: hooks.Labels("event_definition", p.EventDefinitionID, "event_definition_type", p.EventDefinitionType,
			"key", ev.Key, hooks.LabelSourceSeverity, prio),
		Time: hooks.Time(ev.Timestamp),
	}
	if ev.ID != "" {
		e.Fingerprint = "graylog:" + ev.ID
	}
	return []event.Event{e}, nil
}
