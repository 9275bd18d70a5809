// Package event is the ops-message model and the in-process bus modules
// subscribe to by tag pattern.
package event

import "time"

// Severity of an event.
type Severity string

const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Status of an event.
type Status string

const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Link is a titled URL attached to an event.
type Link struct {
	Title string `json:"title,omitempty"`
	URL   string `json:"url"`
}

// Event is one ops message: something that happened, tagged.
type Event struct {
	ID          string            `json:"id"`
	Tag         string            `json:"tag"`
	Severity    Severity          `json:"severity"`
	Status      Status            `json:"status"`
	Title       string            `json:"title"`
	Text        string            `json:"text,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	Links       []Link            `json:"links,omitempty"`
	Room        string            `json:"room,omitempty"`
	Fingerprint string            `json:"fingerprint,omitempty"`
	Source      string            `json:"source"`
	Time        time.Time         `json:"time"`
}
