package alerts

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/alert/opsgenie"
	"github.com/opsbot/opsbot/alert/pagerduty"
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/oncall"
)

// OnCall is the on-call module: the `oncall:` section (teams, rotations,
// overrides, escalation, vendor credentials) and the `oncall [team]`
// command. The alerts module uses its teams to escalate.
type OnCall struct {
	cfg      oncall.Config
	timezone string
	clock    clock.Clock

	teams  []*oncall.Team
	byName map[string]*oncall.Team
	cfgs   map[string]oncall.TeamConfig
}

var (
	_ bot.Module       = (*OnCall)(nil)
	_ bot.Configurable = (*OnCall)(nil)
)

// NewOnCall returns the on-call module.
func NewOnCall() *OnCall { return &OnCall{} }

// Name is "oncall".
func (*OnCall) Name() string { return "oncall" }

// ConfigSection claims `oncall`.
func (o *OnCall) ConfigSection() (string, any) { return "oncall", &o.cfg }

// Configure takes the global timezone (rotations' default).
func (o *OnCall) Configure(_ prometheus.Registerer, timezone string) { o.timezone = timezone }

// Provision builds the teams and declares `oncall`.
func (o *OnCall) Provision(h *bot.Host) error {
	o.clock = h.Clock()
	o.byName, o.cfgs = map[string]*oncall.Team{}, map[string]oncall.TeamConfig{}
	for _, tc := range o.cfg.Teams {
		var vendor oncall.VendorSchedule
		switch tc.Provider {
		case "opsgenie":
			vendor = opsgenie.New(tc.Opsgenie.BaseURL, tc.Opsgenie.APIKey.Reveal(), nil)
		case "pagerduty":
			vendor = pagerduty.New(tc.PagerDuty.BaseURL, tc.PagerDuty.Token.Reveal(), tc.PagerDuty.From, nil)
		}
		t, err := oncall.NewTeam(tc, o.timezone, vendor)
		if err != nil {
			return fmt.Errorf("oncall: %w", err)
		}
		o.teams = append(o.teams, t)
		o.byName[strings.ToLower(tc.Name)] = t
		o.cfgs[t.Name] = tc
	}
	if err := h.Type(command.EnumFunc("team", func(context.Context) ([]string, error) {
		names := make([]string, len(o.teams))
		for i, t := range o.teams {
			names[i] = t.Name
		}
		return names, nil
	})); err != nil {
		return err
	}
	return h.Command(command.Spec{Name: "oncall", Grammar: "oncall [{team:team}]", Help: "who is on call now and next (every team, or one)", Run: o.run})
}

// Team returns a team by name ("" → the default team).
func (o *OnCall) Team(name string) *oncall.Team {
	if name == "" {
		name = o.cfg.Default
	}
	if name == "" && len(o.teams) > 0 {
		return o.teams[0]
	}
	return o.byName[strings.ToLower(name)]
}

// TeamFor returns the team that claims an alert's labels: a team whose
// match the labels satisfy, a team named by the label `team`, else the default.
func (o *OnCall) TeamFor(labels map[string]string) *oncall.Team {
	for _, t := range o.teams {
		if t.Claims(labels) {
			return t
		}
	}
	if t := o.byName[strings.ToLower(labels["team"])]; t != nil {
		return t
	}
	return o.Team("")
}

// TeamConfig is a team's configuration (vendor credentials).
func (o *OnCall) TeamConfig(name string) (oncall.TeamConfig, bool) {
	c, ok := o.cfgs[name]
	return c, ok
}

// Teams are the configured teams.
func (o *OnCall) Teams() []*oncall.Team { return o.teams }

func (o *OnCall) run(ctx context.Context, c *command.Call) error {
	teams := o.teams
	if n := c.Args["team"]; n != "" {
		teams = []*oncall.Team{o.Team(n)}
	}
	if len(teams) == 0 {
		return c.Replyf(ctx, "No on-call teams are configured (oncall.teams).")
	}
	now := o.clock.Now()
	var lines []string
	for _, t := range teams {
		n, err := t.At(ctx, now)
		if err != nil {
			lines = append(lines, fmt.Sprintf("%s: cannot tell (%v)", t.Name, err))
			continue
		}
		line := fmt.Sprintf("%s: **%s** is on call", t.Name, orNobody(n.Primary))
		if !n.Until.IsZero() {
			line += " until " + n.Until.In(t.Location()).Format("Mon Jan 2 15:04 MST")
		}
		if n.Next != "" {
			line += ", then " + n.Next
		}
		if n.Secondary != "" && n.Secondary != n.Next {
			line += "; secondary " + n.Secondary
		}
		lines = append(lines, line)
	}
	return c.Replyf(ctx, "%s", strings.Join(lines, "\n"))
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}
