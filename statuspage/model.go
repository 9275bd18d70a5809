// Package statuspage is the built-in status page: components (in groups) and
// their states, incidents with a timeline of updates, scheduled maintenance,
// their stored history, and the public renderings (HTML, JSON, Atom). The
// atlassian subpackage mirrors it to Atlassian Statuspage.
package statuspage

import (
	"fmt"
	"strings"
	"time"
)

// State is a component's state, spelled as Atlassian Statuspage spells it.
type State string

const (
	Operational State = "operational"
	Degraded    State = "degraded_performance"
	Partial     State = "partial_outage"
	Major       State = "major_outage"
	Maintenance State = "under_maintenance"
)

// States lists the states from best to worst.
var States = []State{Operational, Maintenance, Degraded, Partial, Major}

// Label is the state in words: "degraded performance".
func (s State) Label() string { return strings.ReplaceAll(string(s), "_", " ") }

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s.rank() >= 0 }

// rank orders states by severity (-1: unknown).
func (s State) rank() int {
	for i, x := range States {
		if x == s {
			return i
		}
	}
	return -1
}

// Worse reports whether s is worse than o.
func (s State) Worse(o State) bool { return s.rank() > o.rank() }

// statePhrases are the chat words for each state, longest first within a
// state, compatible with hubot-statuspage ("degraded performance",
// "partial outage", "major outage").
var statePhrases = []struct {
	words []string
	state State
}{
	{[]string{"degraded", "performance"}, Degraded},
	{[]string{"partial", "outage"}, Partial},
	{[]string{"major", "outage"}, Major},
	{[]string{"under", "maintenance"}, Maintenance},
	{[]string{"degraded_performance"}, Degraded},
	{[]string{"partial_outage"}, Partial},
	{[]string{"major_outage"}, Major},
	{[]string{"under_maintenance"}, Maintenance},
	{[]string{"degraded"}, Degraded},
	{[]string{"partial"}, Partial},
	{[]string{"major"}, Major},
	{[]string{"maintenance"}, Maintenance},
	{[]string{"operational"}, Operational},
	{[]string{"ok"}, Operational},
}

// SplitState reads a state phrase at the end of words and returns the words
// before it: ["Build", "Processing", "degraded"] → ["Build", "Processing"], Degraded.
func SplitState(words []string) ([]string, State, bool) {
	for _, p := range statePhrases {
		n := len(p.words)
		if len(words) < n {
			continue
		}
		tail := words[len(words)-n:]
		match := true
		for i := range tail {
			if !strings.EqualFold(tail[i], p.words[i]) {
				match = false
				break
			}
		}
		if match {
			return words[:len(words)-n], p.state, true
		}
	}
	return words, "", false
}

// ParseState reads a state written in words or as Statuspage spells it.
func ParseState(s string) (State, error) {
	rest, st, ok := SplitState(strings.Fields(s))
	if !ok || len(rest) > 0 {
		return "", fmt.Errorf("%q is not a component state (operational, degraded, partial, major, maintenance)", s)
	}
	return st, nil
}

// Status is an incident's status.
type Status string

const (
	Investigating Status = "investigating"
	Identified    Status = "identified"
	Monitoring    Status = "monitoring"
	Resolved      Status = "resolved"
)

// Statuses are the incident statuses in their usual order.
var Statuses = []Status{Investigating, Identified, Monitoring, Resolved}

// ParseStatus reads an incident status.
func ParseStatus(s string) (Status, error) {
	for _, x := range Statuses {
		if strings.EqualFold(s, string(x)) {
			return x, nil
		}
	}
	return "", fmt.Errorf("%q is not an incident status (investigating, identified, monitoring, resolved)", s)
}

// Component is a part of the service shown on the page, with its state.
type Component struct {
	Name        string    `json:"name"`
	Group       string    `json:"group,omitempty"`
	Description string    `json:"description,omitempty"`
	Aliases     []string  `json:"-"`
	State       State     `json:"status"`
	Updated     time.Time `json:"updated_at"`
	UpdatedBy   string    `json:"-"`
}

// Change is one recorded change of a component's state.
type Change struct {
	ID        int64     `json:"id"`
	Component string    `json:"component"`
	From      State     `json:"from"`
	To        State     `json:"to"`
	By        string    `json:"by"`
	Time      time.Time `json:"time"`
}

// Update is one entry of an incident's timeline.
type Update struct {
	ID     int64     `json:"id"`
	Status Status    `json:"status"`
	Body   string    `json:"body"`
	By     string    `json:"-"`
	Time   time.Time `json:"created_at"`
}

// Incident is a problem told to the public, with its timeline (oldest first).
type Incident struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Status     Status    `json:"status"`
	Impact     State     `json:"-"`
	Components []string  `json:"components,omitempty"`
	Created    time.Time `json:"created_at"`
	Updated    time.Time `json:"updated_at"`
	Resolved   time.Time `json:"-"`
	RemoteID   string    `json:"-"`
	Updates    []Update  `json:"incident_updates"`
}

// Open reports whether the incident is not resolved.
func (i Incident) Open() bool { return i.Status != Resolved }

// Window is a scheduled maintenance.
type Window struct {
	Name       string    `json:"name"`
	Message    string    `json:"message,omitempty"`
	Components []string  `json:"components,omitempty"`
	Starts     time.Time `json:"scheduled_for"`
	Ends       time.Time `json:"scheduled_until"`
}

// Active reports whether the window covers t.
func (w Window) Active(t time.Time) bool { return !t.Before(w.Starts) && t.Before(w.Ends) }
