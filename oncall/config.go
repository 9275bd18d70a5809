package oncall

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// Config is the `oncall:` section.
type Config struct {
	// Default is the team of alerts no team claims, and of `oncall` without
	// a team; default: the first team.
	Default string       `yaml:"default"`
	Teams   []TeamConfig `yaml:"teams"`
}

// TeamConfig is one team's on-call duty.
type TeamConfig struct {
	Name string `yaml:"name"`
	// Room is the team's room: alerts are posted there and the last
	// escalation step mentions it.
	Room string `yaml:"room"`
	// Match claims alerts whose labels have these values (team: db).
	Match map[string]string `yaml:"match"`
	// Provider is where the schedule lives: builtin (default), opsgenie or pagerduty.
	Provider string `yaml:"provider"`
	// Rotation is the built-in schedule; Secondary the second line (default:
	// whoever is next in Rotation).
	Rotation  *RotationConfig  `yaml:"rotation"`
	Secondary *RotationConfig  `yaml:"secondary"`
	Overrides []OverrideConfig `yaml:"overrides"`
	// Schedule is the vendor's schedule (an Opsgenie schedule name, a
	// PagerDuty schedule ID); SecondarySchedule its second line (default:
	// who is next on Schedule).
	Schedule          string `yaml:"schedule"`
	SecondarySchedule string `yaml:"secondary_schedule"`
	// Escalation is what happens while a critical alert stays unacknowledged.
	Escalation []StepConfig `yaml:"escalation"`
	// Opsgenie and PagerDuty are the vendors' API credentials: used to read
	// their schedules and to acknowledge and close their alerts.
	Opsgenie  *OpsgenieConfig  `yaml:"opsgenie"`
	PagerDuty *PagerDutyConfig `yaml:"pagerduty"`
	// Users maps vendor names (emails, PagerDuty names) to opsbot users.
	Users map[string]string `yaml:"users"`
}

// RotationConfig is a rotation in config words.
type RotationConfig struct {
	Members  []string `yaml:"members"`
	Start    string   `yaml:"start"`    // date of the first handoff, 2026-11-02 (default 2026-01-05)
	Handoff  string   `yaml:"handoff"`  // 09:00 (default)
	Every    string   `yaml:"every"`    // 1d, 7d, 1w, 2w (default 1w)
	Timezone string   `yaml:"timezone"` // default: the config's timezone, else UTC
}

// OverrideConfig puts someone on call for a while.
type OverrideConfig struct {
	User string `yaml:"user"`
	From string `yaml:"from"` // RFC 3339 or 2006-01-02 15:04 in the rotation's timezone
	To   string `yaml:"to"`
}

// StepConfig is one escalation step.
type StepConfig struct {
	After  config.Duration `yaml:"after"`  // since the alert opened
	Notify string          `yaml:"notify"` // primary | secondary | room | user:NAME | group:NAME
}

// OpsgenieConfig are Opsgenie API credentials.
type OpsgenieConfig struct {
	APIKey  config.Secret `yaml:"api_key"`
	BaseURL string        `yaml:"base_url"`
}

// PagerDutyConfig are PagerDuty API credentials.
type PagerDutyConfig struct {
	Token   config.Secret `yaml:"token"`
	From    string        `yaml:"from"` // the email of the PagerDuty user opsbot acts as
	BaseURL string        `yaml:"base_url"`
}

// DefaultEscalation pages the primary at once and again after 5 minutes,
// the secondary after 15 and the whole room after 30.
var DefaultEscalation = []Step{
	{After: 0, Notify: "primary"},
	{After: 5 * time.Minute, Notify: "primary"},
	{After: 15 * time.Minute, Notify: "secondary"},
	{After: 30 * time.Minute, Notify: "room"},
}

func days(every string) (int, error) {
	if every == "" {
		return 7, nil
	}
	d, err := clock.ParseDuration(every)
	if err != nil {
		return 0, err
	}
	if d <= 0 || d%(24*time.Hour) != 0 {
		return 0, fmt.Errorf("%q is not a whole number of days (1d, 7d, 1w)", every)
	}
	return int(d / (24 * time.Hour)), nil
}

func (r *RotationConfig) build(tz string) (Rotation, error) {
	d, err := days(r.Every)
	if err != nil {
		return Rotation{}, fmt.Errorf("every: %w", err)
	}
	if r.Timezone != "" {
		tz = r.Timezone
	}
	return NewRotation(r.Members, r.Start, r.Handoff, d, tz)
}

func validNotify(n string) bool {
	switch n {
	case "primary", "secondary", "room":
		return true
	}
	for _, p := range []string{"user:", "group:"} {
		if v, ok := strings.CutPrefix(n, p); ok && v != "" {
			return true
		}
	}
	return false
}

// Validate checks every team.
func (c *Config) Validate() error {
	var errs config.FieldErrors
	seen := map[string]bool{}
	for i, t := range c.Teams {
		p := fmt.Sprintf("teams[%d]", i)
		if t.Name == "" {
			errs.Add(p+".name", "is required")
		} else if seen[t.Name] {
			errs.Add(p+".name", "%q is already a team", t.Name)
		}
		seen[t.Name] = true
		switch t.Provider {
		case "", "builtin":
			if t.Rotation == nil {
				errs.Add(p+".rotation", "is required with the builtin provider")
			}
		case "opsgenie":
			if t.Opsgenie == nil || t.Opsgenie.APIKey == "" {
				errs.Add(p+".opsgenie.api_key", "is required with provider opsgenie")
			}
			if t.Schedule == "" {
				errs.Add(p+".schedule", "is required with provider opsgenie (the schedule's name)")
			}
		case "pagerduty":
			if t.PagerDuty == nil || t.PagerDuty.Token == "" {
				errs.Add(p+".pagerduty.token", "is required with provider pagerduty")
			}
			if t.Schedule == "" {
				errs.Add(p+".schedule", "is required with provider pagerduty (the schedule's ID)")
			}
		default:
			errs.Add(p+".provider", "%q is not builtin, opsgenie or pagerduty", t.Provider)
		}
		if t.Rotation != nil {
			if _, err := t.Rotation.build(""); err != nil {
				errs.Add(p+".rotation", "%v", err)
			}
		}
		if t.Secondary != nil {
			if _, err := t.Secondary.build(""); err != nil {
				errs.Add(p+".secondary", "%v", err)
			}
		}
		for j, o := range t.Overrides {
			if _, err := ParseOverride(o.User, o.From, o.To, time.UTC); err != nil {
				errs.Add(fmt.Sprintf("%s.overrides[%d]", p, j), "%v", err)
			}
		}
		var last time.Duration
		for j, s := range t.Escalation {
			if !validNotify(s.Notify) {
				errs.Add(fmt.Sprintf("%s.escalation[%d].notify", p, j), "%q is not primary, secondary, room, user:NAME or group:NAME", s.Notify)
			}
			if s.After.D() < last {
				errs.Add(fmt.Sprintf("%s.escalation[%d].after", p, j), "steps must be in order (%s is before the previous step's %s)", s.After.D(), last)
			}
			last = s.After.D()
		}
		if t.PagerDuty != nil && t.PagerDuty.Token != "" && t.PagerDuty.From == "" {
			errs.Add(p+".pagerduty.from", "is required: PagerDuty needs the email of the user opsbot acts as")
		}
		for _, b := range []struct{ path, u string }{{".opsgenie.base_url", baseOf(t.Opsgenie)}, {".pagerduty.base_url", basePD(t.PagerDuty)}} {
			if b.u != "" {
				if u, err := url.Parse(b.u); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					errs.Add(p+b.path, "%q is not an http(s) URL", b.u)
				}
			}
		}
	}
	if c.Default != "" && !seen[c.Default] {
		errs.Add("default", "%q is not a team", c.Default)
	}
	return errs.Err()
}

func baseOf(o *OpsgenieConfig) string {
	if o == nil {
		return ""
	}
	return o.BaseURL
}

func basePD(p *PagerDutyConfig) string {
	if p == nil {
		return ""
	}
	return p.BaseURL
}
