package oncall

import (
	"context"
	"fmt"
	"time"
)

// VendorSchedule reads a vendor's schedule (the Opsgenie and PagerDuty
// clients implement it).
type VendorSchedule interface {
	OnCall(ctx context.Context, schedule string, at time.Time) (now, next []string, err error)
}

// Step is one escalation step.
type Step struct {
	After  time.Duration
	Notify string
}

// Team is a team's on-call duty, ready to ask.
type Team struct {
	Name       string
	Room       string
	Match      map[string]string
	Escalation []Step
	Users      map[string]string

	primary, secondary *Schedule
	vendor             VendorSchedule
	schedule, second   string
}

// NewTeam builds a team from its config; tz is the default timezone of
// rotations; vendor reads the schedule when the provider is not builtin.
func NewTeam(c TeamConfig, tz string, vendor VendorSchedule) (*Team, error) {
	t := &Team{Name: c.Name, Room: c.Room, Match: c.Match, Users: c.Users, vendor: vendor, schedule: c.Schedule, second: c.SecondarySchedule}
	for _, s := range c.Escalation {
		t.Escalation = append(t.Escalation, Step{After: s.After.D(), Notify: s.Notify})
	}
	if len(c.Escalation) == 0 {
		t.Escalation = DefaultEscalation
	}
	if c.Rotation != nil {
		r, err := c.Rotation.build(tz)
		if err != nil {
			return nil, fmt.Errorf("team %s: rotation: %w", c.Name, err)
		}
		t.primary = &Schedule{Rotation: r}
		for _, oc := range c.Overrides {
			o, err := ParseOverride(oc.User, oc.From, oc.To, r.Location)
			if err != nil {
				return nil, fmt.Errorf("team %s: override: %w", c.Name, err)
			}
			t.primary.Overrides = append(t.primary.Overrides, o)
		}
	}
	if c.Secondary != nil {
		r, err := c.Secondary.build(tz)
		if err != nil {
			return nil, fmt.Errorf("team %s: secondary: %w", c.Name, err)
		}
		t.secondary = &Schedule{Rotation: r}
	}
	if t.primary == nil && t.vendor == nil {
		return nil, fmt.Errorf("team %s: neither a rotation nor a vendor schedule", c.Name)
	}
	return t, nil
}

// Location is the team's rotation timezone (UTC for vendor schedules).
func (t *Team) Location() *time.Location {
	if t.primary != nil {
		return t.primary.Rotation.Location
	}
	return time.UTC
}

// Now is who is on call at a time: the primary (with when the shift ends,
// zero when unknown), the secondary and who comes next.
type Now struct {
	Primary   string
	Until     time.Time
	Secondary string
	Next      string
	NextAt    time.Time
}

// UTC returns n with its times in UTC (for comparisons and JSON).
func (n Now) UTC() Now {
	n.Until, n.NextAt = n.Until.UTC(), n.NextAt.UTC()
	return n
}

// user maps a vendor's name for someone to the opsbot user.
func (t *Team) user(name string) string {
	if u, ok := t.Users[name]; ok {
		return u
	}
	return name
}

// At says who is on call at a time.
func (t *Team) At(ctx context.Context, at time.Time) (Now, error) {
	if t.vendor == nil {
		cur, next := t.primary.At(at)
		n := Now{Primary: cur.User, Until: cur.End, Next: next.User, NextAt: next.Start, Secondary: next.User}
		if t.secondary != nil {
			s, _ := t.secondary.At(at)
			n.Secondary = s.User
		}
		return n, nil
	}
	now, next, err := t.vendor.OnCall(ctx, t.schedule, at)
	if err != nil {
		return Now{}, fmt.Errorf("team %s: schedule %s: %w", t.Name, t.schedule, err)
	}
	var n Now
	if len(now) > 0 {
		n.Primary = t.user(now[0])
	}
	if len(next) > 0 {
		n.Next = t.user(next[0])
		n.Secondary = n.Next
	}
	if t.second != "" {
		s, _, err := t.vendor.OnCall(ctx, t.second, at)
		if err != nil {
			return n, fmt.Errorf("team %s: schedule %s: %w", t.Name, t.second, err)
		}
		if len(s) > 0 {
			n.Secondary = t.user(s[0])
		}
	}
	return n, nil
}

// Claims reports whether the team's match claims labels (a team without
// match claims nothing; the default team takes the rest).
func (t *Team) Claims(labels map[string]string) bool {
	if len(t.Match) == 0 {
		return false
	}
	for k, v := range t.Match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Due returns the indexes of the escalation steps due at now for an alert
// opened at opened that has had done steps, and when the next one falls due
// (zero when none is left).
func Due(steps []Step, opened time.Time, done int, now time.Time) (due []int, next time.Time) {
	for i := done; i < len(steps); i++ {
		at := opened.Add(steps[i].After)
		if at.After(now) {
			return due, at
		}
		due = append(due, i)
	}
	return due, time.Time{}
}
