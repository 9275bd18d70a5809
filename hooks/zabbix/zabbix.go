// Package zabbix parses the JSON that opsbot's Zabbix webhook media type
// sends (the media type, its parameters and script are in docs/hooks.md).
// The script sends the token as a bearer token.
package zabbix

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Source is the Zabbix source.
type Source struct{ auth hooks.TokenAuth }

var _ hooks.Source = (*Source)(nil)

// New returns the source for a token.
func New(token string) (*Source, error) {
	if token == "" {
		return nil, errors.New("zabbix: a token is required")
	}
	return &Source{auth: hooks.TokenAuth{Token: token}}, nil
}

// Verify checks the token.
func (s *Source) Verify(r *hooks.Request) error { return s.auth.Verify(r) }

// Tag is one Zabbix event tag.
type Tag struct {
	Tag   string `json:"tag"`
	Value string `json:"value"`
}

// Payload is what the media type's script posts: Zabbix macros, resolved.
type Payload struct {
	EventID        string `json:"event_id"`        // {EVENT.ID}
	EventValue     string `json:"event_value"`     // {EVENT.VALUE}: 1 problem, 0 recovery
	EventStatus    string `json:"event_status"`    // {EVENT.STATUS}: PROBLEM or RESOLVED
	EventSeverity  string `json:"event_severity"`  // {EVENT.SEVERITY}: Disaster … Not classified
	EventNSeverity string `json:"event_nseverity"` // {EVENT.NSEVERITY}: 5 … 0
	EventName      string `json:"event_name"`      // {EVENT.NAME}
	EventUpdate    string `json:"event_update_status"`
	EventUpdateMsg string `json:"event_update_action"`
	EventTags      []Tag  `json:"event_tags"` // {EVENT.TAGSJSON}, parsed by the script
	HostName       string `json:"host_name"`  // {HOST.NAME}
	HostIP         string `json:"host_ip"`    // {HOST.IP}
	TriggerID      string `json:"trigger_id"` // {TRIGGER.ID}
	Subject        string `json:"subject"`    // {ALERT.SUBJECT}
	Message        string `json:"message"`    // {ALERT.MESSAGE}
	URL            string `json:"event_url"`  // {$ZABBIX.URL}/tr_events.php?triggerid={TRIGGER.ID}&eventid={EVENT.ID}
}

// Severity maps a Zabbix severity (name or number): disaster and high are
// critical, average and warning are warning, information and not
// classified are info.
func Severity(name, n string) event.Severity {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "disaster", "high":
		return event.Critical
	case "average", "warning":
		return event.Warning
	case "information", "not classified":
		return event.Info
	}
	switch n {
	case "5", "4":
		return event.Critical
	case "3", "2":
		return event.Warning
	case "1", "0":
		return event.Info
	}
	return event.Warning
}

// Parse maps the problem or its recovery to one alert.zabbix event; both
// carry the problem's event ID, the fingerprint.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var p Payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	if p.EventID == "" {
		return nil, hooks.Missing("event_id")
	}
	if p.EventName == "" && p.Subject == "" {
		return nil, hooks.Missing("event_name")
	}
	var st event.Status
	switch {
	case p.EventValue == "1", p.EventValue == "" && strings.EqualFold(p.EventStatus, "PROBLEM"):
		st = event.Firing
	case p.EventValue == "0", p.EventValue == "" && (strings.EqualFold(p.EventStatus, "RESOLVED") || strings.EqualFold(p.EventStatus, "OK")):
		st = event.Resolved
	case p.EventValue == "" && p.EventStatus == "":
		return nil, hooks.Missing("event_value")
	default:
		return nil, hooks.Malformed("event_value %q is neither 1 (problem) nor 0 (recovery)", p.EventValue)
	}
	srcSev := hooks.First(p.EventSeverity, p.EventNSeverity)
	title := hooks.First(p.EventName, p.Subject)
	if p.HostName != "" && !strings.Contains(title, p.HostName) {
		title = p.HostName + ": " + title
	}
	if p.EventUpdate == "1" {
		title = "updated: " + title
		if p.EventUpdateMsg != "" {
			title += " (" + p.EventUpdateMsg + ")"
		}
	}
	labels := hooks.Labels("host", p.HostName, "host_ip", p.HostIP, "trigger_id", p.TriggerID, "event_id", p.EventID,
		hooks.LabelSourceSeverity, srcSev)
	for _, t := range p.EventTags {
		if _, taken := labels[t.Tag]; !taken && t.Tag != "" {
			labels[t.Tag] = t.Value
		}
	}
	return []event.Event{{
		Tag: "alert.zabbix", Status: st, Severity: Severity(p.EventSeverity, p.EventNSeverity),
		Title: title, Text: strings.TrimSpace(p.Message), Labels: labels,
		Links:       hooks.Links("zabbix", p.URL),
		Fingerprint: fmt.Sprintf("zabbix:%s", p.EventID),
	}}, nil
}
