// Package schedule is opsbot's scheduler: when-expressions (cron, intervals,
// one-off times and human forms such as "every weekday at 9:30"), each in a
// time zone, and a scheduler that claims every firing exactly once in the
// database before running it, catches up a firing missed while opsbot was
// down when it is within a grace period, and reports the others as missed.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/opsbot/opsbot/clock"
)

// Spec is a parsed when-expression.
type Spec interface {
	// Next is the first firing strictly after t, or the zero time when the
	// schedule fires no more.
	Next(t time.Time) time.Time
}

// ErrSyntax wraps every parse error.
var ErrSyntax = errors.New("not a schedule")

// MinInterval is the shortest `every` interval.
const MinInterval = time.Second

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse reads a when-expression in loc (UTC when nil). anchor is when the
// schedule was created: `in 2h` fires at anchor+2h, `every 15m` at
// anchor+15m, +30m…; cron and calendar forms ignore it.
//
//	cron "0 9 * * 1-5"           5 fields, or 6 with seconds first; also bare
//	every 15m                    an interval (1s at least; d and w units too)
//	every weekday at 9:30        day, weekday, weekend, monday…sunday, lists with "," or "and"
//	at 2026-12-01 09:30          once, at a local date and time
//	at 17:00                     once, at the next 17:00
//	in 2h                        once, after a delay
func Parse(when string, loc *time.Location, anchor time.Time) (Spec, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := strings.Join(strings.Fields(when), " ")
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return nil, fmt.Errorf("%w: empty", ErrSyntax)
	case strings.HasPrefix(lower, "cron "):
		return parseCron(strings.Trim(strings.TrimSpace(s[5:]), `"'`), loc)
	case strings.HasPrefix(lower, "every "):
		return parseEvery(lower[6:], loc, anchor)
	case strings.HasPrefix(lower, "at "):
		return parseAt(lower[3:], loc, anchor)
	case strings.HasPrefix(lower, "in "):
		d, err := clock.ParseDuration(lower[3:])
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: %q: after `in` comes a positive duration such as 2h or 30m", ErrSyntax, s)
		}
		return Once(anchor.Add(d)), nil
	case strings.HasPrefix(s, "@") || len(strings.Fields(s)) == 5 || len(strings.Fields(s)) == 6:
		return parseCron(strings.Trim(s, `"'`), loc)
	}
	return nil, fmt.Errorf("%w: %q: use cron \"EXPR\", every 15m, every weekday at 9:30, at 2026-12-01 09:30 or in 2h", ErrSyntax, s)
}

// Once fires once, at t.
type Once time.Time

func (o Once) Next(t time.Time) time.Time {
	if time.Time(o).After(t) {
		return time.Time(o)
	}
	return time.Time{}
}

// Interval fires every D after Anchor (not at Anchor itself).
type Interval struct {
	Anchor time.Time
	D      time.Duration
}

func (iv Interval) Next(t time.Time) time.Time {
	if t.Before(iv.Anchor) {
		return iv.Anchor.Add(iv.D)
	}
	n := t.Sub(iv.Anchor)/iv.D + 1
	return iv.Anchor.Add(n * iv.D)
}

const starBit = 1 << 63

// Cron is a cron expression in a time zone, with the daylight-saving rules
// of ISC (Vixie) cron: a job at a fixed local time (neither its minute nor
// its hour field starts with `*`) that falls in the hour skipped in spring
// runs at the first instant after the change, and runs once, not twice, in
// the hour repeated in autumn; a wildcard job follows real time (it fires
// in each hour that exists, the repeated one included).
type Cron struct {
	spec  *cron.SpecSchedule
	fixed bool
	loc   *time.Location
}

func parseCron(expr string, loc *time.Location) (Spec, error) {
	if strings.HasPrefix(strings.ToUpper(expr), "TZ=") || strings.HasPrefix(strings.ToUpper(expr), "CRON_TZ=") {
		return nil, fmt.Errorf("%w: %q: give the time zone as the schedule's timezone, not in the expression", ErrSyntax, expr)
	}
	sch, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: cron %q: %v", ErrSyntax, expr, err)
	}
	spec, ok := sch.(*cron.SpecSchedule)
	if !ok { // @every: an interval
		return nil, fmt.Errorf("%w: cron %q: write intervals as `every 15m`", ErrSyntax, expr)
	}
	fixed := spec.Minute&starBit == 0 && spec.Hour&starBit == 0
	c := &Cron{loc: loc, fixed: fixed}
	cp := *spec
	if fixed {
		cp.Location = time.UTC // evaluated on the wall clock, then placed in loc
	} else {
		cp.Location = loc
	}
	c.spec = &cp
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%w: cron %q never fires", ErrSyntax, expr)
	}
	return c, nil
}

func (c *Cron) Next(t time.Time) time.Time {
	if !c.fixed {
		return c.spec.Next(t)
	}
	wall := wallAsUTC(t.In(c.loc))
	for i := 0; i < 4; i++ {
		wall = c.spec.Next(wall)
		if wall.IsZero() {
			return wall
		}
		if at := place(wall, c.loc); at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// wallAsUTC is t's local wall clock read as a UTC time.
func wallAsUTC(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

func sameWall(t, w time.Time) bool {
	return t.Year() == w.Year() && t.Month() == w.Month() && t.Day() == w.Day() &&
		t.Hour() == w.Hour() && t.Minute() == w.Minute() && t.Second() == w.Second()
}

// place turns a wall-clock time into an instant in loc: a time skipped by
// a daylight-saving change becomes the first instant after the change, a
// repeated one its first occurrence.
func place(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
	if !sameWall(t, w) {
		start, _ := t.ZoneBounds()
		return start
	}
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		if e := t.Add(-d); sameWall(e.In(loc), w) {
			return e
		}
	}
	return t
}

var dayNames = map[string]string{
	"day": "*", "days": "*", "weekday": "1-5", "weekdays": "1-5", "weekend": "0,6", "weekends": "0,6",
	"monday": "1", "tuesday": "2", "wednesday": "3", "thursday": "4", "friday": "5", "saturday": "6", "sunday": "0",
	"mon": "1", "tue": "2", "wed": "3", "thu": "4", "fri": "5", "sat": "6", "sun": "0",
}

// parseEvery reads what follows `every `: an interval, or days at a time.
func parseEvery(rest string, loc *time.Location, anchor time.Time) (Spec, error) {
	days, at, hasAt := strings.Cut(rest, " at ")
	if !hasAt {
		if strings.HasPrefix(rest, "day") || dayNames[strings.TrimSuffix(rest, "s")] != "" {
			return nil, fmt.Errorf("%w: \"every %s\": say at what time, as in `every %s at 9:30`", ErrSyntax, rest, rest)
		}
		d, err := clock.ParseDuration(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: \"every %s\": give an interval (every 15m) or days and a time (every weekday at 9:30)", ErrSyntax, rest)
		}
		if d < MinInterval {
			return nil, fmt.Errorf("%w: \"every %s\": the interval must be at least %s", ErrSyntax, rest, MinInterval)
		}
		return Interval{Anchor: anchor, D: d}, nil
	}
	h, m, sec, err := clockTime(at)
	if err != nil {
		return nil, fmt.Errorf("%w: \"every %s\": %v", ErrSyntax, rest, err)
	}
	var dows []string
	for _, part := range strings.FieldsFunc(strings.ReplaceAll(days, " and ", ","), func(r rune) bool { return r == ',' || r == ' ' }) {
		d, ok := dayNames[part]
		if !ok {
			d, ok = dayNames[strings.TrimSuffix(part, "s")]
		}
		if !ok {
			return nil, fmt.Errorf("%w: \"every %s\": %q is not a day (day, weekday, weekend, monday…sunday)", ErrSyntax, rest, part)
		}
		dows = append(dows, d)
	}
	if len(dows) == 0 {
		return nil, fmt.Errorf("%w: \"every %s\": which days?", ErrSyntax, rest)
	}
	return parseCron(fmt.Sprintf("%d %d %d * * %s", sec, m, h, strings.Join(dows, ",")), loc)
}

// clockTime reads 9:30, 09:30:15, 17h or 5pm.
func clockTime(s string) (h, m, sec int, err error) {
	s = strings.TrimSpace(s)
	pm, am := strings.HasSuffix(s, "pm"), strings.HasSuffix(s, "am")
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "pm"), "am"))
	parts := strings.Split(strings.TrimSuffix(s, "h"), ":")
	if len(parts) > 3 {
		return 0, 0, 0, fmt.Errorf("%q is not a time of day", s)
	}
	vals := make([]int, 3)
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return 0, 0, 0, fmt.Errorf("%q is not a time of day (write 9:30 or 17:00)", s)
		}
		vals[i] = v
	}
	h, m, sec = vals[0], vals[1], vals[2]
	if pm || am {
		if h < 1 || h > 12 {
			return 0, 0, 0, fmt.Errorf("%q is not a time of day", s)
		}
		h %= 12
		if pm {
			h += 12
		}
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, 0, 0, fmt.Errorf("%q is not a time of day", s)
	}
	return h, m, sec, nil
}

// parseAt reads what follows `at `: a local date and time, or a time of day.
func parseAt(rest string, loc *time.Location, anchor time.Time) (Spec, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02t15:04", "2006-01-02t15:04:05"} {
		if t, err := time.ParseInLocation(layout, rest, loc); err == nil {
			return Once(place(wallAsUTC(t), loc)), nil
		}
	}
	if t, err := time.Parse(time.RFC3339, strings.ToUpper(rest)); err == nil {
		return Once(t), nil
	}
	h, m, sec, err := clockTime(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: \"at %s\": give a date and time (at 2026-12-01 09:30) or a time of day (at 17:00)", ErrSyntax, rest)
	}
	local := anchor.In(loc)
	w := time.Date(local.Year(), local.Month(), local.Day(), h, m, sec, 0, time.UTC)
	at := place(w, loc)
	if !at.After(anchor) {
		at = place(w.AddDate(0, 0, 1), loc)
	}
	return Once(at), nil
}
