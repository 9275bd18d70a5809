package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
)

// Decode reads a JSON object body into v, naming the problem for a bad one.
func Decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return Malformed("invalid JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return Malformed("field %s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		default:
			return Malformed("invalid JSON: %v", err)
		}
	}
	if d.More() {
		return Malformed("invalid JSON: more than one value in the body")
	}
	return nil
}

// Severity maps the usual alert severity words ("critical", "page", "P1",
// "warning", "info", …) to an event severity; unknown or empty gives def.
// The table is in docs/hooks.md.
func Severity(s string, def event.Severity) event.Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "crit", "fatal", "page", "emergency", "emerg", "alert", "disaster", "high", "p1", "p2", "sev1", "sev2", "error":
		return event.Critical
	case "warning", "warn", "average", "medium", "p3", "sev3", "major", "minor":
		return event.Warning
	case "info", "information", "informational", "notice", "low", "none", "debug", "ok", "p4", "p5", "sev4", "sev5", "not classified":
		return event.Info
	}
	return def
}

// Time parses an RFC 3339 time; zero when empty, unreadable or Go's zero time
// ("0001-01-01T00:00:00Z", which Alertmanager sends for "not ended").
func Time(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// Labels builds a label map, skipping empty values.
func Labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// Links builds links, skipping empty URLs.
func Links(titleURL ...string) []event.Link {
	var out []event.Link
	for i := 0; i+1 < len(titleURL); i += 2 {
		if titleURL[i+1] != "" {
			out = append(out, event.Link{Title: titleURL[i], URL: titleURL[i+1]})
		}
	}
	return out
}

// First returns the first non-empty string.
func First(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// Plural is "1 commit" / "2 commits".
func Plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// FirstNumber returns the first non-empty JSON number.
func FirstNumber(ns ...json.Number) json.Number {
	for _, n := range ns {
		if n != "" {
			return n
		}
	}
	return ""
}
