// Package alert tracks alerts: events from the webhook sources (alert.**),
// monitors (monitor.firing / monitor.resolved) and the fleet's panic become
// alerts with a short id and a state, open → acknowledged → closed, kept in
// the store (migration 00075_alerts.sql). The opsgenie and pagerduty
// subpackages carry acknowledgements and closes back to those vendors.
package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
)

// State of an alert.
type State string

const (
	Open         State = "open"
	Acknowledged State = "acknowledged"
	Closed       State = "closed"
)

// Alert is one tracked problem.
type Alert struct {
	ID          int64             `json:"id"`
	Fingerprint string            `json:"fingerprint"`
	Tag         string            `json:"tag"`
	Source      string            `json:"source"`
	Title       string            `json:"title"`
	Text        string            `json:"text,omitempty"`
	Severity    event.Severity    `json:"severity"`
	State       State             `json:"state"`
	Team        string            `json:"team,omitempty"`
	Vendor      string            `json:"vendor,omitempty"`    // "opsgenie", "pagerduty" or ""
	VendorID    string            `json:"vendor_id,omitempty"` // the vendor's alert or incident ID
	Labels      map[string]string `json:"labels,omitempty"`
	Links       []event.Link      `json:"links,omitempty"`
	Opened      time.Time         `json:"opened_at"`
	LastSeen    time.Time         `json:"last_seen_at"`
	Acked       time.Time         `json:"acknowledged_at,omitzero"`
	AckedBy     string            `json:"acknowledged_by,omitempty"`
	Closed      time.Time         `json:"closed_at,omitzero"`
	ClosedBy    string            `json:"closed_by,omitempty"`
	// Step is how many escalation steps have fired.
	Step int `json:"escalation_step"`
	// Thread is the chat post the alert's updates go under ("" when not posted).
	Thread string `json:"-"`
	// Paged lists the users paged so far (for `alerts mine`).
	Paged []string `json:"paged,omitempty"`
}

// Short is the alert's short id as chat shows it.
func (a Alert) Short() string { return fmt.Sprintf("#%d", a.ID) }

// Age is how long the alert has been open at now, rounded for people.
func Age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// Line is the alert in one line of chat: "#3 [critical] DiskFull: sda1 (12m, acknowledged by bob)".
func (a Alert) Line(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s] %s (%s", a.Short(), a.Severity, a.Title, Age(now, a.Opened))
	switch a.State {
	case Acknowledged:
		fmt.Fprintf(&b, ", acknowledged by %s", a.AckedBy)
	case Closed:
		fmt.Fprintf(&b, ", closed by %s", a.ClosedBy)
	}
	if a.Vendor != "" {
		fmt.Fprintf(&b, ", %s", a.Vendor)
	}
	b.WriteString(")")
	return b.String()
}

// Vendors are the tags whose alerts live in a vendor that opsbot can
// acknowledge and close through its API, and the prefix of their fingerprints.
var vendors = map[string]string{"alert.opsgenie": "opsgenie", "alert.pagerduty": "pagerduty"}

// VendorOf returns the vendor and its ID for an event from a vendor's webhook.
func VendorOf(e event.Event) (vendor, id string) {
	v, ok := vendors[e.Tag]
	if !ok {
		return "", ""
	}
	return v, strings.TrimPrefix(e.Fingerprint, v+":")
}

// Fingerprint is what keys an event's alert: the event's fingerprint, else
// its tag and title.
func Fingerprint(e event.Event) string {
	if e.Fingerprint != "" {
		return e.Fingerprint
	}
	return e.Tag + ":" + e.Title
}
