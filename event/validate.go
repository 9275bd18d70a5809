package event

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on the size of an event; anything larger is rejected, not cut.
const (
	MaxTag         = 128
	MaxTitle       = 1024
	MaxText        = 64 << 10
	MaxLabels      = 64
	MaxLabelName   = 128
	MaxLabelValue  = 1024
	MaxFields      = 64
	MaxFieldName   = 128
	MaxFieldValue  = 8 << 10
	MaxLinks       = 16
	MaxURL         = 2048
	MaxLinkTitle   = 256
	MaxRoom        = 256
	MaxFingerprint = 256
	MaxSource      = 64
	// derivedTitle bounds the title taken from the text's first line.
	derivedTitle = 200
)

// ErrInvalid is matched (errors.Is) by every validation error.
var ErrInvalid = errors.New("invalid event")

// FieldError is one problem with one field of an event.
type FieldError struct {
	Path string // "severity", "events[3].labels.host"
	Msg  string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

// InvalidError lists every problem found in a batch of events.
type InvalidError struct {
	Fields []FieldError
}

func (e *InvalidError) Error() string {
	s := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		s[i] = f.Error()
	}
	return strings.Join(s, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

var (
	tagPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$`)
	labelNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
)

// ValidTag reports whether tag is dotted lowercase words ("deploy.finished",
// "mysql.replication.error"): each word letters, digits, '_' or '-'.
func ValidTag(tag string) bool { return len(tag) <= MaxTag && tagPattern.MatchString(tag) }

// Normalize fills an event's defaults and checks it; path prefixes every
// field name in the errors ("events[3]" gives "events[3].severity"; "" none).
//
// Defaults: severity info, status firing, time now (truncated to the
// millisecond, UTC, as the log stores it), title the first line of the text.
// Severity and status are accepted in any case and lowered.
func Normalize(e *Event, now time.Time, path string) []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		p := field
		if path != "" {
			p = path + "." + field
		}
		errs = append(errs, FieldError{Path: p, Msg: fmt.Sprintf(format, args...)})
	}
	tooLong := func(field, v string, limit int) bool {
		if len(v) > limit {
			add(field, "is %d bytes, more than the limit of %d", len(v), limit)
			return true
		}
		if !utf8.ValidString(v) {
			add(field, "is not valid UTF-8")
			return true
		}
		return false
	}

	if e.ID != "" && !ValidID(e.ID) {
		add("id", "%q is not 1 to 64 letters, digits, '_' or '-'", e.ID)
	}
	switch {
	case e.Tag == "":
		add("tag", "is required (dotted lowercase words, e.g. deploy.finished)")
	case !ValidTag(e.Tag):
		if len(e.Tag) > MaxTag {
			add("tag", "is %d bytes, more than the limit of %d", len(e.Tag), MaxTag)
		} else {
			add("tag", "%q is not dotted lowercase words (e.g. deploy.finished, backup.failed)", e.Tag)
		}
	}
	switch s := Severity(strings.ToLower(string(e.Severity))); s {
	case "":
		e.Severity = Info
	case Info, Warning, Critical:
		e.Severity = s
	default:
		add("severity", "%q is not one of info, warning, critical", e.Severity)
	}
	switch s := Status(strings.ToLower(string(e.Status))); s {
	case "":
		e.Status = Firing
	case Firing, Resolved:
		e.Status = s
	default:
		add("status", "%q is not one of firing, resolved", e.Status)
	}
	tooLong("title", e.Title, MaxTitle)
	tooLong("text", e.Text, MaxText)
	if e.Title == "" && e.Text == "" {
		add("title", "a title or a text is required")
	} else if strings.TrimSpace(e.Title) == "" {
		e.Title = firstLine(e.Text)
	}
	if len(e.Labels) > MaxLabels {
		add("labels", "has %d labels, more than the limit of %d", len(e.Labels), MaxLabels)
	} else {
		for _, k := range slices.Sorted(maps.Keys(e.Labels)) {
			v, f := e.Labels[k], "labels."+k
			if len(k) > MaxLabelName || !labelNamePattern.MatchString(k) {
				add(f, "%q is not a label name (a letter or '_', then letters, digits, '_', '.' or '-'; at most %d)", k, MaxLabelName)
				continue
			}
			tooLong(f, v, MaxLabelValue)
		}
	}
	if len(e.Fields) > MaxFields {
		add("fields", "has %d fields, more than the limit of %d", len(e.Fields), MaxFields)
	} else {
		for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
			v, f := e.Fields[k], "fields."+k
			if k == "" {
				add("fields", "a field name is empty")
				continue
			}
			if !tooLong(f, k, MaxFieldName) {
				tooLong(f, v, MaxFieldValue)
			}
		}
	}
	if len(e.Links) > MaxLinks {
		add("links", "has %d links, more than the limit of %d", len(e.Links), MaxLinks)
	} else {
		for i, l := range e.Links {
			f := fmt.Sprintf("links[%d]", i)
			if tooLong(f+".url", l.URL, MaxURL) || tooLong(f+".title", l.Title, MaxLinkTitle) {
				continue
			}
			if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(f+".url", "%q is not an http(s) URL", l.URL)
			}
		}
	}
	tooLong("room", e.Room, MaxRoom)
	tooLong("fingerprint", e.Fingerprint, MaxFingerprint)
	if !tooLong("source", e.Source, MaxSource) && strings.ContainsAny(e.Source, " \t\r\n") {
		add("source", "%q contains white space", e.Source)
	}
	if e.Time.IsZero() {
		e.Time = now
	} else if e.Time.Before(time.Unix(0, 0)) {
		add("time", "%s is before 1970", e.Time.Format(time.RFC3339))
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	return errs
}

// NormalizeAll normalizes a batch; the error, if any, is an *InvalidError
// naming each field as "events[i].field" (or just "field" for a batch of one
// when array is false: a request that sent a single object).
func NormalizeAll(events []Event, now time.Time, array bool) error {
	var errs []FieldError
	for i := range events {
		path := ""
		if array || len(events) > 1 {
			path = fmt.Sprintf("events[%d]", i)
		}
		errs = append(errs, Normalize(&events[i], now, path)...)
	}
	if len(errs) > 0 {
		return &InvalidError{Fields: errs}
	}
	return nil
}

// firstLine is the first non-blank line of text, cut to derivedTitle runes.
func firstLine(text string) string {
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if utf8.RuneCountInString(line) > derivedTitle {
			r := []rune(line)
			line = string(r[:derivedTitle-1]) + "…"
		}
		return line
	}
	return ""
}
