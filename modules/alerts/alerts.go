// Package alerts is the alerts and on-call modules: alerts tracked from
// events (the webhook sources' alert.** tags, monitor.firing /
// monitor.resolved, fleet.panic) with state open → acknowledged → closed,
// the chat commands `alerts`, `alerts mine`, `ack [all|ID…]`, `close ID…`
// and `oncall [team]`, escalation of unacknowledged critical alerts
// through the teams' steps, acknowledgements and closes carried to
// Opsgenie and PagerDuty, and GET /api/v1/alerts. See docs/alerts.md and
// docs/oncall.md.
package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/opsbot/opsbot/alert"
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/notify"
)

// Permission is what acknowledging and closing need.
const Permission = "alerts"

// threadKind is the kind of an alert's thread (data: the alert's ID).
const threadKind = "alert"

// Config is the `alerts:` section.
type Config struct {
	// Room is where alerts are posted (a thread each) when their team has
	// no room; empty: only teams' rooms.
	Room string `yaml:"room"`
	// Tags are the event tag patterns tracked as alerts.
	Tags []string `yaml:"tags"`
	// Escalate lists the severities that escalate; default [critical].
	Escalate []string `yaml:"escalate"`
}

// DefaultTags are tracked when alerts.tags is not set.
var DefaultTags = []string{"alert.**", "monitor.firing", "monitor.resolved"}

// Validate checks severities and rooms.
func (c *Config) Validate() error {
	var errs config.FieldErrors
	for i, s := range c.Escalate {
		switch event.Severity(s) {
		case event.Info, event.Warning, event.Critical:
		default:
			errs.Add(fmt.Sprintf("escalate[%d]", i), "%q is not info, warning or critical", s)
		}
	}
	if c.Room != "" {
		if _, err := notify.ParseRoom(c.Room); err != nil {
			errs.Add("room", "%v", err)
		}
	}
	for i, t := range c.Tags {
		if strings.TrimSpace(t) == "" {
			errs.Add(fmt.Sprintf("tags[%d]", i), "is empty")
		}
	}
	return errs.Err()
}

// incidentOpener is the status module, found at Start: the fleet's panic
// opens an incident on the status page.
type incidentOpener interface {
	OpenIncident(ctx context.Context, name, body, by string) (int64, error)
}

// Module is the alerts module.
type Module struct {
	cfg Config

	b      *bot.Bot
	st     *alert.Store
	clock  clock.Clock
	log    *slog.Logger
	oncall *OnCall
	status incidentOpener
	wake   chan struct{}
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
	_ bot.Starter      = (*Module)(nil)
)

// New returns the alerts module.
func New() *Module { return &Module{wake: make(chan struct{}, 1)} }

// Name is "alerts".
func (*Module) Name() string { return "alerts" }

// ConfigSection claims `alerts`.
func (m *Module) ConfigSection() (string, any) { return "alerts", &m.cfg }

// Store is where alerts are kept.
func (m *Module) Store() *alert.Store { return m.st }

// Provision declares the commands, subscriptions and the API route.
func (m *Module) Provision(h *bot.Host) error {
	m.b, m.clock, m.log = h.Bot(), h.Clock(), h.Logger()
	m.st = alert.NewStore(h.Store().DB())
	tags := m.cfg.Tags
	if len(tags) == 0 {
		tags = DefaultTags
	}
	for _, t := range tags {
		h.Subscribe(t, m.onEvent)
	}
	h.Subscribe("fleet.panic", m.onPanic)
	h.APIRoute("GET /api/v1/alerts", "alerts:read", m.api())
	specs := []command.Spec{
		{Name: "alerts", Grammar: "alerts", Help: "the open alerts, oldest first, with age and who acknowledged", Run: m.list},
		{Name: "alerts.mine", Grammar: "alerts mine", Help: "the alerts you acknowledged or were paged for", Run: m.mine},
		{Name: "ack", Grammar: "ack [{ids...}]", Help: "acknowledge alerts: `ack` or `ack all` (every open, unacknowledged alert), `ack 3 4`",
			Permission: Permission, SideEffects: true, Run: m.ack},
		{Name: "close", Grammar: "close {ids...}", Help: "close alerts: close 3 4", Permission: Permission, SideEffects: true, Run: m.close},
		{Name: "alert.ack", Grammar: "ack", Thread: threadKind, Help: "(in an alert's thread) acknowledge this alert",
			Permission: Permission, SideEffects: true, Run: m.ackThread},
		{Name: "alert.close", Grammar: "close", Thread: threadKind, Help: "(in an alert's thread) close this alert",
			Permission: Permission, SideEffects: true, Run: m.closeThread},
	}
	for _, s := range specs {
		if err := h.Command(s); err != nil {
			return err
		}
	}
	return nil
}

// Start finds the on-call and status modules and starts escalating.
func (m *Module) Start(ctx context.Context) error {
	for _, mod := range m.b.Modules() {
		if o, ok := mod.(*OnCall); ok {
			m.oncall = o
		}
		if s, ok := mod.(incidentOpener); ok {
			m.status = s
		}
	}
	go m.escalateLoop(ctx)
	return nil
}

// poke wakes the escalation loop.
func (m *Module) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Module) escalates(s event.Severity) bool {
	if len(m.cfg.Escalate) == 0 {
		return s == event.Critical
	}
	return slices.Contains(m.cfg.Escalate, string(s))
}

// roomOf is where an alert of a team is posted ("" team: alerts.room).
func (m *Module) roomOf(team string) (chat.Room, bool) {
	r := m.cfg.Room
	if m.oncall != nil {
		if t := m.oncall.Team(team); t != nil && t.Name == team && t.Room != "" {
			r = t.Room
		}
	}
	if r == "" {
		return chat.Room{}, false
	}
	spec, err := notify.ParseRoom(r)
	if err != nil {
		return chat.Room{}, false
	}
	adapter := spec.Adapter
	if adapter == "" {
		as := m.b.Sender().Adapters()
		if len(as) != 1 {
			m.log.Warn("alerts: room names no adapter and the bot has several", "room", r)
			return chat.Room{}, false
		}
		adapter = as[0].Name()
	}
	return spec.Room(adapter), true
}

func (m *Module) teamFor(labels map[string]string) string {
	if m.oncall == nil {
		return ""
	}
	if t := m.oncall.TeamFor(labels); t != nil {
		return t.Name
	}
	return ""
}

// onEvent tracks an alert-ish event.
func (m *Module) onEvent(ctx context.Context, e event.Event) error {
	_, err := m.track(ctx, e)
	return err
}

func (m *Module) track(ctx context.Context, e event.Event) (alert.Change, error) {
	ch, err := m.st.Apply(ctx, e, m.teamFor(e.Labels), m.clock.Now())
	if err != nil {
		return ch, err
	}
	a := ch.Alert
	switch ch.Kind {
	case alert.Opened:
		if room, ok := m.roomOf(a.Team); ok {
			sev := chat.SeverityWarning
			switch a.Severity {
			case event.Critical:
				sev = chat.SeverityCritical
			case event.Info:
				sev = chat.SeverityInfo
			}
			p := chat.Post{Text: fmt.Sprintf("Alert %s [%s] %s", a.Short(), a.Severity, a.Title), Severity: sev, ThreadKey: fmt.Sprintf("alert-%d", a.ID)}
			if a.State == alert.Acknowledged {
				p.Text += " (acknowledged by " + a.AckedBy + ")"
			} else {
				p.Text += fmt.Sprintf(" — `ack %d`", a.ID)
			}
			for _, l := range a.Links {
				p.Links = append(p.Links, chat.Link{Title: l.Title, URL: l.URL})
			}
			ref, err := m.b.OpenThread(ctx, room, threadKind, fmt.Sprint(a.ID), p)
			if err != nil {
				m.log.Warn("alerts: post failed", "alert", a.ID, "err", err)
			} else if b, err := json.Marshal(ref); err == nil {
				if err := m.st.SetThread(ctx, a.ID, string(b)); err != nil {
					m.log.Warn("alerts: thread not recorded", "alert", a.ID, "err", err)
				}
			}
		}
		if a.State == alert.Open && m.escalates(a.Severity) {
			m.poke()
		}
	case alert.ClosedRemote:
		m.inThread(ctx, a, chat.Post{Text: fmt.Sprintf("resolved: %s %s", a.Short(), a.Title), Severity: chat.SeverityInfo})
	case alert.AckedRemote:
		m.inThread(ctx, a, chat.Post{Text: fmt.Sprintf("%s acknowledged in %s by %s", a.Short(), vendorName(a), a.AckedBy)})
	case alert.Reopened:
		m.inThread(ctx, a, chat.Post{Text: fmt.Sprintf("%s unacknowledged in %s: escalating again", a.Short(), vendorName(a))})
		m.poke()
	}
	return ch, nil
}

func vendorName(a alert.Alert) string {
	if a.Vendor == "" {
		return a.Source
	}
	return a.Vendor
}

// inThread posts under an alert's post (in its room when it has none).
func (m *Module) inThread(ctx context.Context, a alert.Alert, p chat.Post) {
	if a.Thread != "" {
		var ref chat.Ref
		if err := json.Unmarshal([]byte(a.Thread), &ref); err == nil {
			if _, err := m.b.PostInThread(ctx, ref, p); err != nil {
				m.log.Warn("alerts: post failed", "alert", a.ID, "err", err)
			}
			return
		}
	}
	if room, ok := m.roomOf(a.Team); ok {
		if _, err := m.b.Post(ctx, room, p); err != nil {
			m.log.Warn("alerts: post failed", "alert", a.ID, "err", err)
		}
	}
}

// onPanic tracks the fleet's panic as a critical alert, pages on-call at
// once and opens an incident on the status page.
func (m *Module) onPanic(ctx context.Context, e event.Event) error {
	e.Severity = event.Critical
	if e.Fingerprint == "" { // every press of panic is its own alert
		key := e.ID
		if key == "" {
			key = fmt.Sprint(e.Time.UnixNano())
		}
		e.Fingerprint = "fleet.panic:" + key
	}
	ch, err := m.track(ctx, e)
	if err != nil {
		return err
	}
	if ch.Kind != alert.Opened {
		return nil
	}
	a := ch.Alert
	if team := m.team(a.Team); team != nil && (len(team.Escalation) == 0 || team.Escalation[0].After > 0) {
		m.page(ctx, a, "primary", "the fleet panicked")
	}
	if m.status != nil {
		name := "Platform problem"
		if env := e.Labels["env"]; env != "" {
			name += " in " + env
		}
		body := "We are investigating a problem with the platform."
		id, err := m.status.OpenIncident(ctx, name, body, e.Labels["by"])
		if err != nil {
			m.log.Warn("alerts: panic: incident not opened", "err", err)
		} else {
			_ = m.st.Note(ctx, a.ID, m.clock.Now(), "incident", fmt.Sprintf("opened status incident #%d", id))
			m.inThread(ctx, a, chat.Post{Text: fmt.Sprintf("Opened status page incident #%d: %s", id, name)})
		}
	}
	return nil
}
