// Package schedules is the schedules module: recurring and one-off tasks
// from config (`schedules:`), from chat (`remind`), and from other modules
// (ScheduleFunc: deployment drift nags, daily reports). Every firing is
// claimed once in the database before it runs (package schedule). See
// docs/schedules.md.
package schedules

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/notify"
	"github.com/opsbot/opsbot/schedule"
)

// The owners of schedules.
const (
	OwnerConfig = "config"
	OwnerChat   = "chat"
)

// Module is the schedules module.
type Module struct {
	cfg      Config
	timezone string
	reg      prometheus.Registerer

	h     *bot.Host
	log   *slog.Logger
	sched *schedule.Scheduler
	delay prometheus.Histogram
	runs  *prometheus.CounterVec

	mu       sync.Mutex
	funcs    map[string]func(ctx context.Context, at time.Time) error
	pending  []schedule.Entry // ScheduleFunc calls before Provision
	monitors monitorChecker
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
	_ bot.Starter      = (*Module)(nil)
)

// New returns the schedules module.
func New() *Module { return &Module{funcs: map[string]func(context.Context, time.Time) error{}} }

// Name is "schedules".
func (*Module) Name() string { return "schedules" }

// ConfigSection claims `schedules`.
func (m *Module) ConfigSection() (string, any) { return "schedules", &m.cfg }

// Configure takes the metrics registry and the config's `timezone:`.
func (m *Module) Configure(reg prometheus.Registerer, timezone string) {
	m.reg, m.timezone = reg, timezone
}

// Scheduler is the module's scheduler (nil before Provision).
func (m *Module) Scheduler() *schedule.Scheduler { return m.sched }

// monitorChecker is what a "monitor" action needs of the monitors module.
type monitorChecker interface {
	CheckMonitor(ctx context.Context, name string) error
}

// action is what a stored schedule does, as JSON.
type action struct {
	Type    string     `json:"type"` // post, run, monitor, emit, func
	Room    *chat.Room `json:"room,omitempty"`
	RoomCfg string     `json:"room_cfg,omitempty"` // a room as written in config, resolved when it fires
	Text    string     `json:"text,omitempty"`
	As      string     `json:"as,omitempty"`
	Monitor string     `json:"monitor,omitempty"`
	Event   *EmitEvent `json:"event,omitempty"`
}

// Provision builds the scheduler and declares the commands and the API.
func (m *Module) Provision(h *bot.Host) error {
	if err := m.cfg.Validate(); err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	m.h, m.log = h, h.Logger()
	m.delay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "opsbot_schedule_delay_seconds", Help: "How late schedule firings started (actual minus scheduled time).",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2, 5, 30},
	})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsbot_schedule_firings_total", Help: "Schedule firings run, by outcome (ok, failed, missed).",
	}, []string{"outcome"})
	if m.reg != nil {
		for _, c := range []prometheus.Collector{m.delay, m.runs} {
			if err := m.reg.Register(c); err != nil {
				return fmt.Errorf("schedules: metrics: %w", err)
			}
		}
	}
	m.mu.Lock()
	m.sched = schedule.New(schedule.Options{
		DB: h.Store().DB(), Clock: h.Clock(), Logger: m.log, Run: m.fire, Missed: m.missed,
		Grace: m.cfg.Grace.D(), Keep: m.cfg.Keep.D(),
		Fired: func(_ string, at, started time.Time) { m.delay.Observe(started.Sub(at).Seconds()) },
	})
	pending := m.pending
	m.pending = nil
	m.mu.Unlock()
	for _, e := range pending {
		if _, err := m.sched.Put(context.Background(), e); err != nil {
			return fmt.Errorf("schedules: %s: %w", e.ID, err)
		}
	}
	if err := m.commands(h); err != nil {
		return err
	}
	h.APIRoute("GET /api/v1/schedules", "schedules:read", m.api())
	return nil
}

// Start stores the config's tasks (removing those no longer in it), finds
// the monitors module, and runs the scheduler.
func (m *Module) Start(ctx context.Context) error {
	for _, mod := range m.h.Bot().Modules() {
		if mc, ok := mod.(monitorChecker); ok {
			m.monitors = mc
		}
	}
	if err := m.syncConfig(ctx); err != nil {
		return err
	}
	go func() {
		if err := m.sched.Run(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("scheduler stopped", "err", err)
		}
	}()
	return nil
}

func (m *Module) location(tz string) (*time.Location, string, error) {
	if tz == "" {
		tz = m.timezone
	}
	if tz == "" {
		return time.UTC, "UTC", nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, "", fmt.Errorf("%q is not a time zone", tz)
	}
	return loc, loc.String(), nil
}

func (m *Module) syncConfig(ctx context.Context) error {
	want := map[string]bool{}
	for _, t := range m.cfg.Tasks {
		want[t.ID] = true
		_, tz, err := m.location(t.Timezone)
		if err != nil {
			return fmt.Errorf("schedules: %s: %w", t.ID, err)
		}
		a := action{RoomCfg: t.Room}
		note := ""
		switch {
		case t.Post != "":
			a.Type, a.Text, note = "post", t.Post, "post to "+t.Room+": "+t.Post
		case t.Run != "":
			a.Type, a.Text, a.As, note = "run", t.Run, t.As, fmt.Sprintf("run `%s` as %s in %s", t.Run, t.As, t.Room)
		case t.Monitor != "":
			a.Type, a.Monitor, note = "monitor", t.Monitor, "check monitor "+t.Monitor
		case t.Emit != nil:
			a.Type, a.Event, note = "emit", t.Emit, "emit "+t.Emit.Tag
		}
		body, _ := json.Marshal(a)
		if _, err := m.sched.Put(ctx, schedule.Entry{ID: t.ID, Owner: OwnerConfig, When: t.When, Timezone: tz, Action: string(body), Note: note, CreatedBy: "config"}); err != nil {
			return fmt.Errorf("schedules: %s: %w", t.ID, err)
		}
	}
	es, err := m.sched.List(ctx)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.Owner == OwnerConfig && !want[e.ID] {
			if err := m.sched.Delete(ctx, e.ID); err != nil {
				return err
			}
			m.log.Info("schedule removed from the config", "schedule", e.ID)
		}
	}
	return nil
}

// ScheduleFunc registers a schedule that runs fn: name is a stable unique
// ID ("deploy.drift/api/production"), when the schedules grammar, loc nil
// for the config's timezone. Its firings are claimed exactly once like any
// schedule's and it appears in `schedules` and the API. Call it from
// Provision or Start; calling it again with the same name replaces it.
func (m *Module) ScheduleFunc(name, when string, loc *time.Location, run func(ctx context.Context, at time.Time) error) error {
	if !idPattern.MatchString(name) {
		return fmt.Errorf("schedule %q: an ID of letters, digits, '.', '_', ':', '/' or '-' is required", name)
	}
	if run == nil {
		return fmt.Errorf("schedule %s: no function", name)
	}
	tz := ""
	if loc != nil {
		tz = loc.String()
	} else {
		_, z, err := m.location("")
		if err != nil {
			return err
		}
		tz = z
	}
	if _, err := (schedule.Entry{ID: name, When: when, Timezone: tz}).Spec(); err != nil {
		return fmt.Errorf("schedule %s: %w", name, err)
	}
	owner, _, _ := strings.Cut(name, ".")
	e := schedule.Entry{ID: name, Owner: owner, When: when, Timezone: tz, Action: `{"type":"func"}`, Note: "registered by the " + owner + " module", CreatedBy: owner}
	m.mu.Lock()
	m.funcs[name] = run
	if m.sched == nil {
		m.pending = append(m.pending, e)
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	_, err := m.sched.Put(context.Background(), e)
	return err
}

// fire runs one firing.
func (m *Module) fire(ctx context.Context, e schedule.Entry, at time.Time) (err error) {
	defer func() {
		outcome := "ok"
		if err != nil {
			outcome = "failed"
		}
		m.runs.WithLabelValues(outcome).Inc()
	}()
	var a action
	if err := json.Unmarshal([]byte(e.Action), &a); err != nil {
		return fmt.Errorf("schedule %s: action: %w", e.ID, err)
	}
	switch a.Type {
	case "func":
		m.mu.Lock()
		fn := m.funcs[e.ID]
		m.mu.Unlock()
		if fn == nil {
			return fmt.Errorf("schedule %s: no module registered its function in this process", e.ID)
		}
		return fn(ctx, at)
	case "post":
		room, err := m.room(a)
		if err != nil {
			return err
		}
		_, err = m.h.Post(ctx, room, chat.Post{Text: a.Text})
		return err
	case "run":
		room, err := m.room(a)
		if err != nil {
			return err
		}
		return m.h.Bot().RunAs(ctx, a.As, []chat.Room{room}, a.Text)
	case "monitor":
		if m.monitors == nil {
			return fmt.Errorf("schedule %s: no monitors module to check %s", e.ID, a.Monitor)
		}
		return m.monitors.CheckMonitor(ctx, a.Monitor)
	case "emit":
		ev := event.Event{Tag: a.Event.Tag, Severity: event.Severity(a.Event.Severity), Title: a.Event.Title, Text: a.Event.Text,
			Labels: a.Event.Labels, Room: a.Event.Room, Status: event.Firing, Time: m.h.Clock().Now()}
		if ev.Severity == "" {
			ev.Severity = event.Info
		}
		if ev.Title == "" {
			ev.Title = "Schedule " + e.ID
		}
		if ev.Labels == nil {
			ev.Labels = map[string]string{}
		}
		ev.Labels["schedule"] = e.ID
		_, err := m.h.Ingest(ctx, ev)
		return err
	}
	return fmt.Errorf("schedule %s: unknown action %q", e.ID, a.Type)
}

// room resolves an action's room: a chat room stored as is, or a config
// room ("#ops" on the first chat, "slack:#ops").
func (m *Module) room(a action) (chat.Room, error) {
	if a.Room != nil {
		return *a.Room, nil
	}
	spec, err := notify.ParseRoom(a.RoomCfg)
	if err != nil {
		return chat.Room{}, err
	}
	def := m.cfg.DefaultAdapter
	if as := m.h.Bot().Sender().Adapters(); def == "" && len(as) > 0 {
		def = as[0].Name()
	}
	return spec.Room(def), nil
}

// missed tells the schedule's room (if it has one) about firings missed.
func (m *Module) missed(ctx context.Context, e schedule.Entry, count int64, last time.Time) {
	m.runs.WithLabelValues("missed").Add(float64(count))
	var a action
	if json.Unmarshal([]byte(e.Action), &a) != nil || (a.Room == nil && a.RoomCfg == "") {
		return
	}
	room, err := m.room(a)
	if err != nil {
		return
	}
	loc, _, _ := m.location(e.Timezone)
	text := fmt.Sprintf("Schedule `%s` missed %d firing(s) while opsbot was down, the last at %s; they were not run (grace: %s).",
		e.ID, count, last.In(loc).Format("2006-01-02 15:04 MST"), m.grace())
	if _, err := m.h.Post(ctx, room, chat.Post{Text: text, Severity: chat.SeverityWarning}); err != nil {
		m.log.Error("report missed firings", "schedule", e.ID, "err", err)
	}
}

func (m *Module) grace() time.Duration {
	if g := m.cfg.Grace.D(); g > 0 {
		return g
	}
	return 15 * time.Minute
}
