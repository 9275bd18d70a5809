package command

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Time and date arguments are normalised to text, not to an instant: the
// type does not know the user's time zone or the current time. ResolveTime
// turns a normalised value into an instant.
//
// Forms accepted by the time type, with their normal form:
//
//	2026-12-01 09:30, 2026-12-01T9:30  → 2026-12-01 09:30
//	09:30, 9:30                        → 09:30
//	2026-12-01T09:30:00Z (RFC 3339)    → 2026-12-01T09:30:00Z
//	today 9:00, tomorrow 9:00          → today 09:00, tomorrow 09:00
//
// and by the date type: 2026-12-01, today, tomorrow.
const (
	dateLayout   = "2006-01-02"
	clockLayout  = "15:04"
	minuteLayout = dateLayout + " " + clockLayout
)

func parseTime(_ context.Context, s string) (string, error) {
	if _, norm, ok := parseTimeForm(s); ok {
		return norm, nil
	}
	return "", fmt.Errorf("%q is not a time (use 2026-12-01 09:30, 09:30, tomorrow 09:30 or RFC 3339)", s)
}

func parseDate(_ context.Context, s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "today" || t == "tomorrow" {
		return t, nil
	}
	if d, err := time.Parse(dateLayout, t); err == nil {
		return d.Format(dateLayout), nil
	}
	return "", fmt.Errorf("%q is not a date (use 2026-12-01, today or tomorrow)", s)
}

// timeForm is how a time value is given.
type timeForm int

const (
	formAbsolute timeForm = iota // a date and a clock time, in the user's zone
	formRFC3339                  // an instant
	formClock                    // a clock time: the next one
	formToday                    // today at a clock time
	formTomorrow                 // tomorrow at a clock time
)

// parseTimeForm recognises a time value and returns its normal form.
func parseTimeForm(s string) (timeForm, string, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, strings.ToUpper(s)); err == nil {
		return formRFC3339, t.Format(time.RFC3339), true
	}
	if c, ok := parseClock(s); ok {
		return formClock, c, true
	}
	day, rest, ok := strings.Cut(s, " ")
	if !ok {
		day, rest, ok = strings.Cut(s, "T")
	}
	if !ok {
		return 0, "", false
	}
	c, ok := parseClock(strings.TrimSpace(rest))
	if !ok {
		return 0, "", false
	}
	switch strings.ToLower(day) {
	case "today":
		return formToday, "today " + c, true
	case "tomorrow":
		return formTomorrow, "tomorrow " + c, true
	}
	d, err := time.Parse(dateLayout, day)
	if err != nil {
		return 0, "", false
	}
	return formAbsolute, d.Format(dateLayout) + " " + c, true
}

// parseClock accepts "9:30" and "09:30" and returns "09:30".
func parseClock(s string) (string, bool) {
	if len(s) == 4 {
		s = "0" + s
	}
	t, err := time.Parse(clockLayout, s)
	if err != nil {
		return "", false
	}
	return t.Format(clockLayout), true
}

// ResolveTime turns a time or date argument (as the time and date types
// normalise it) into an instant, in now's location: a date is its midnight, a
// clock time alone is its next occurrence at or after now.
func ResolveTime(s string, now time.Time) (time.Time, error) {
	loc := now.Location()
	switch d := strings.ToLower(strings.TrimSpace(s)); d {
	case "today", "tomorrow":
		y, m, day := now.Date()
		t := time.Date(y, m, day, 0, 0, 0, 0, loc)
		if d == "tomorrow" {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if d, err := time.ParseInLocation(dateLayout, strings.TrimSpace(s), loc); err == nil {
		return d, nil
	}
	form, norm, ok := parseTimeForm(s)
	if !ok {
		return time.Time{}, fmt.Errorf("%q is not a time", s)
	}
	switch form {
	case formRFC3339:
		return time.Parse(time.RFC3339, norm)
	case formAbsolute:
		return time.ParseInLocation(minuteLayout, norm, loc)
	}
	c, _ := time.Parse(clockLayout, norm[len(norm)-len(clockLayout):])
	y, m, day := now.Date()
	t := time.Date(y, m, day, c.Hour(), c.Minute(), 0, 0, loc)
	switch {
	case form == formTomorrow:
		t = t.AddDate(0, 0, 1)
	case form == formClock && t.Before(now):
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// Time returns a time or date argument resolved against now (see
// ResolveTime); the zero time when absent or invalid.
func (a Args) Time(name string, now time.Time) time.Time {
	t, _ := ResolveTime(a[name], now)
	return t
}
