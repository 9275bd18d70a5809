package monitor

import (
	"fmt"
	"math"
	"time"
)

// The states of a monitor.
const (
	StateOK      = "ok"
	StatePending = "pending" // a condition holds, for less than `for`
	StateFiring  = "firing"
)

// State is a monitor's stored state.
type State struct {
	Name         string    `json:"name"`
	State        string    `json:"state"`
	Since        time.Time `json:"since"`
	PendingSince time.Time `json:"pending_since,omitzero"`
	Value        float64   `json:"value"`
	HasValue     bool      `json:"has_value"`
	Reason       string    `json:"reason,omitempty"` // why it breaches
	LastCheck    time.Time `json:"last_check,omitzero"`
	LastData     time.Time `json:"last_data,omitzero"` // last data seen (the last heartbeat event)
	Error        string    `json:"error,omitempty"`    // the last check's error
	Notified     bool      `json:"notified"`           // a firing event went out and no resolved since
	History      []Point   `json:"history,omitempty"`  // values within the change window
	// Silence is kept in its own columns, not in the JSON.
	SilencedUntil time.Time `json:"-"`
	SilencedBy    string    `json:"-"`
}

// Silenced reports whether the monitor is silenced at now.
func (s State) Silenced(now time.Time) bool { return now.Before(s.SilencedUntil) }

// Result is what one check observed.
type Result struct {
	Value    float64
	HasValue bool
	// Failure, for HTTP and heartbeat checks: why it breaches ("" when it doesn't).
	Failure string
	// OK is a healthy result that carries no data (a heartbeat not yet
	// late); Since, if set, is where a heartbeat's wait starts.
	OK bool
	// Checked says the result is from the source (false when the source was
	// unreachable: nothing is concluded from it).
	Checked bool
	// Since, for absence: the time from which missing data counts (when the
	// source came back after being unreachable; zero otherwise).
	Since time.Time
}

// Transition is a change a check causes that people must hear about.
type Transition struct {
	Status string // "firing" or "resolved"
	State  State
}

// evaluate applies a check's result to its state at now and says whether
// an event must go out. Silenced monitors track their state but send no
// "firing"; a "resolved" goes out for a firing that was announced.
func evaluate(c *Check, st State, r Result, now time.Time) (State, *Transition) {
	st.Name = c.Name
	st.LastCheck = now
	if st.State == "" {
		st.State, st.Since = StateOK, now
	}
	if !r.Checked {
		return st, nil
	}
	reason := ""
	switch {
	case r.OK:
		if st.LastData.IsZero() {
			st.LastData = r.Since
		}
	case r.Failure != "":
		reason = r.Failure
		st.Value, st.HasValue = r.Value, r.HasValue
	case r.HasValue:
		st.Value, st.HasValue, st.LastData = r.Value, true, now
		st.History = appendHistory(st.History, Point{T: now, V: r.Value}, c)
		reason = breach(c, st.History, r.Value)
	default:
		st.HasValue = false
		from := st.LastData
		if from.Before(r.Since) {
			from = r.Since
		}
		if from.IsZero() {
			// Never saw data: absence counts from the first check.
			st.LastData = now
			from = now
		}
		if c.Absent.D() > 0 && now.Sub(from) >= c.Absent.D() {
			reason = fmt.Sprintf("no data for %s", FormatDuration(roundDur(now.Sub(from))))
		} else if st.State != StateOK {
			// No data, no absence condition: the state holds.
			reason = st.Reason
		}
	}
	prev := st.State
	if reason != "" {
		st.Reason = reason
		switch st.State {
		case StateOK:
			st.State, st.PendingSince = StatePending, now
			if c.For.D() <= 0 {
				st.State = StateFiring
			}
		case StatePending:
			if now.Sub(st.PendingSince) >= c.For.D() {
				st.State = StateFiring
			}
		}
	} else {
		st.State, st.Reason, st.PendingSince = StateOK, "", time.Time{}
	}
	if st.State != prev {
		st.Since = now
	}
	switch {
	case st.State == StateFiring && !st.Notified && !st.Silenced(now):
		st.Notified = true
		return st, &Transition{Status: "firing", State: st}
	case st.State != StateFiring && st.Notified:
		st.Notified = false
		return st, &Transition{Status: "resolved", State: st}
	}
	return st, nil
}

// breach says which threshold or change condition the value breaks ("").
func breach(c *Check, hist []Point, v float64) string {
	if c.Above != nil && v > *c.Above {
		return fmt.Sprintf("%s > %s", fmtValue(v), fmtValue(*c.Above))
	}
	if c.Below != nil && v < *c.Below {
		return fmt.Sprintf("%s < %s", fmtValue(v), fmtValue(*c.Below))
	}
	if c.Change != nil && len(hist) > 1 {
		first := hist[0]
		delta := v - first.V
		moved := math.Abs(delta)
		by := c.Change.By
		if c.Change.Percent {
			if first.V == 0 {
				return ""
			}
			moved = math.Abs(delta/first.V) * 100
		}
		if moved >= by {
			unit := ""
			if c.Change.Percent {
				unit = "%"
			}
			return fmt.Sprintf("changed by %s%s (%s → %s) within %s", fmtValue(moved), unit, fmtValue(first.V), fmtValue(v), roundDur(hist[len(hist)-1].T.Sub(first.T)))
		}
	}
	return ""
}

// appendHistory keeps the points a change condition looks at.
func appendHistory(h []Point, p Point, c *Check) []Point {
	if c.Change == nil {
		return nil
	}
	h = append(h, p)
	cut := 0
	for cut < len(h)-1 && p.T.Sub(h[cut].T) > c.Change.Within.D() {
		cut++
	}
	return append([]Point(nil), h[cut:]...)
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// reduce turns samples into one value.
func reduce(how string, ss []Sample) (float64, bool) {
	if len(ss) == 0 {
		return 0, false
	}
	v := ss[0].Value
	sum := 0.0
	for _, s := range ss {
		sum += s.Value
		switch how {
		case "min":
			v = math.Min(v, s.Value)
		case "", "max":
			v = math.Max(v, s.Value)
		}
	}
	switch how {
	case "sum":
		return sum, true
	case "avg":
		return sum / float64(len(ss)), true
	}
	if math.IsNaN(v) {
		return 0, false
	}
	return v, true
}
