// Package oncall answers "who is on call" — rotations with a handoff time
// in a time zone, overrides, or a vendor's schedule (Opsgenie, PagerDuty) —
// and plans escalation: the steps that page people about an
// unacknowledged critical alert.
package oncall

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Rotation hands on-call duty from one member to the next every Days days
// at Handoff (wall-clock time in Location), starting with Members[0] at the
// first handoff on Start.
type Rotation struct {
	Members  []string
	Start    time.Time // the first handoff, in Location
	Days     int       // length of a shift in days (7: weekly)
	Location *time.Location
}

// NewRotation builds a rotation from config words: start "2026-11-02",
// handoff "09:00", every in days, timezone "Europe/Paris" ("" = UTC).
func NewRotation(members []string, start, handoff string, days int, timezone string) (Rotation, error) {
	if len(members) == 0 {
		return Rotation{}, errors.New("members: at least one is required")
	}
	if days <= 0 {
		return Rotation{}, errors.New("every: must be at least one day")
	}
	loc := time.UTC
	if timezone != "" {
		l, err := time.LoadLocation(timezone)
		if err != nil {
			return Rotation{}, fmt.Errorf("timezone: %w", err)
		}
		loc = l
	}
	if handoff == "" {
		handoff = "09:00"
	}
	if start == "" {
		start = "2026-01-05" // a Monday
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", start+" "+handoff, loc)
	if err != nil {
		return Rotation{}, fmt.Errorf("start/handoff: %q %q is not 2006-01-02 and 15:04", start, handoff)
	}
	return Rotation{Members: members, Start: t, Days: days, Location: loc}, nil
}

// handoff is the k-th handoff (k may be negative): the same wall-clock time
// k shifts after the start, so a daylight-saving change does not move it.
func (r Rotation) handoff(k int) time.Time {
	return r.Start.AddDate(0, 0, k*r.Days)
}

// Shift is one member's turn.
type Shift struct {
	User       string
	Start, End time.Time
}

// At returns the shift covering t and the one after it.
func (r Rotation) At(t time.Time) (cur, next Shift) {
	approx := int(t.Sub(r.Start).Hours() / 24 / float64(r.Days))
	k := approx - 1
	for r.handoff(k).After(t) {
		k--
	}
	for !r.handoff(k + 1).After(t) {
		k++
	}
	n := len(r.Members)
	member := func(k int) string { return r.Members[((k%n)+n)%n] }
	cur = Shift{User: member(k), Start: r.handoff(k), End: r.handoff(k + 1)}
	next = Shift{User: member(k + 1), Start: r.handoff(k + 1), End: r.handoff(k + 2)}
	return cur, next
}

// Override puts User on call from Start to End instead of the rotation.
type Override struct {
	User       string
	Start, End time.Time
}

// ParseOverride reads an override from config words, times in loc.
func ParseOverride(user, from, to string, loc *time.Location) (Override, error) {
	if strings.TrimSpace(user) == "" {
		return Override{}, errors.New("user is required")
	}
	parse := func(s string) (time.Time, error) {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		return time.ParseInLocation("2006-01-02 15:04", s, loc)
	}
	s, err := parse(from)
	if err != nil {
		return Override{}, fmt.Errorf("from: %q is neither RFC 3339 nor 2006-01-02 15:04", from)
	}
	e, err := parse(to)
	if err != nil {
		return Override{}, fmt.Errorf("to: %q is neither RFC 3339 nor 2006-01-02 15:04", to)
	}
	if !e.After(s) {
		return Override{}, errors.New("to must be after from")
	}
	return Override{User: user, Start: s, End: e}, nil
}

// Schedule is a rotation with its overrides.
type Schedule struct {
	Rotation  Rotation
	Overrides []Override
}

// At returns who is on call at t and who comes next, overrides applied:
// an override replaces the rotation while it lasts.
func (s Schedule) At(t time.Time) (cur, next Shift) {
	cur = s.who(t)
	return cur, s.who(cur.End)
}

// who is the shift covering t, ending at the next change (a handoff, or an
// override starting or ending).
func (s Schedule) who(t time.Time) Shift {
	sh, _ := s.Rotation.At(t)
	for _, o := range s.Overrides {
		if !t.Before(o.Start) && t.Before(o.End) {
			sh = Shift{User: o.User, Start: o.Start, End: o.End}
			break
		}
	}
	for _, o := range s.Overrides {
		if o.Start.After(t) && o.Start.Before(sh.End) {
			sh.End = o.Start
		}
	}
	return sh
}
