package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// window is a compiled mute window.
type window struct {
	days   [7]bool // by time.Weekday; all false means every day
	anyDay bool
	ranges [][2]int // minutes of the day [start, end); end < start wraps midnight
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (w Window) compile() (window, error) {
	var out window
	var errs config.FieldErrors
	out.anyDay = len(w.Weekdays) == 0
	for i, d := range w.Weekdays {
		from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(d)), ":")
		a, ok1 := weekdays[from]
		b := a
		ok2 := true
		if isRange {
			b, ok2 = weekdays[to]
		}
		if !ok1 || !ok2 {
			errs.Add(config.Path("weekdays", i), "%q is not a weekday or a range like monday:friday", d)
			continue
		}
		for day := a; ; day = (day + 1) % 7 {
			out.days[day] = true
			if day == b {
				break
			}
		}
	}
	for i, t := range w.Times {
		from, to, ok := strings.Cut(strings.ReplaceAll(t, " ", ""), "-")
		s, err1 := minuteOfDay(from)
		e, err2 := minuteOfDay(to)
		if !ok || err1 != nil || err2 != nil || s == e {
			errs.Add(config.Path("times", i), "%q is not a range like 22:00-07:00", t)
			continue
		}
		out.ranges = append(out.ranges, [2]int{s, e})
	}
	return out, errs.Err()
}

func minuteOfDay(s string) (int, error) {
	m := clockTimeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("bad time %q", s)
	}
	var h, min int
	fmt.Sscanf(m[1], "%d", &h)
	fmt.Sscanf(m[2], "%d", &min)
	if h == 24 && min == 0 {
		return 24 * 60, nil
	}
	if h > 23 || min > 59 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + min, nil
}

// contains reports whether local time t falls in the window. A range that
// wraps midnight belongs to the day it starts on.
func (w window) contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	day := t.Weekday()
	if len(w.ranges) == 0 {
		return w.anyDay || w.days[day]
	}
	for _, r := range w.ranges {
		if r[0] < r[1] {
			if m >= r[0] && m < r[1] && (w.anyDay || w.days[day]) {
				return true
			}
			continue
		}
		// Wraps midnight: [start, 24:00) today or [00:00, end) the day after it started.
		if m >= r[0] && (w.anyDay || w.days[day]) {
			return true
		}
		if m < r[1] && (w.anyDay || w.days[(day+6)%7]) {
			return true
		}
	}
	return false
}
