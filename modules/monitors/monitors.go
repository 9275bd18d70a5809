// Package monitors is the monitors module: the `monitors:` section's checks
// against Prometheus, Graphite, Elasticsearch/OpenSearch, HTTP endpoints and
// heartbeats (package monitor), run on the schedules module's scheduler
// (each check claimed once), state changes emitted as monitor.firing /
// monitor.resolved events; `monitors`, `silence`, `unsilence`, `graph` and
// `query` in chat; GET /api/v1/monitors. See docs/monitors.md.
package monitors

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/monitor"
	"github.com/opsbot/opsbot/schedule"
)

// Module is the monitors module.
type Module struct {
	cfg    monitor.Config
	h      *bot.Host
	log    *slog.Logger
	runner *monitor.Runner
	graphs *graphCache
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
	_ bot.Starter      = (*Module)(nil)
)

// New returns the monitors module.
func New() *Module { return &Module{graphs: newGraphCache(200, time.Hour)} }

// NewWithConfig returns the module with its config set in code.
func NewWithConfig(c monitor.Config) *Module {
	m := New()
	m.cfg = c
	return m
}

// Name is "monitors".
func (*Module) Name() string { return "monitors" }

// ConfigSection claims `monitors`.
func (m *Module) ConfigSection() (string, any) { return "monitors", &m.cfg }

// Runner is the module's monitor runner (nil before Provision).
func (m *Module) Runner() *monitor.Runner { return m.runner }

// Provision builds the runner, subscribes the heartbeats, declares the
// commands and the routes.
func (m *Module) Provision(h *bot.Host) error {
	m.h, m.log = h, h.Logger()
	var secrets []string
	for _, s := range m.cfg.Sources {
		secrets = append(secrets, s.Password.Reveal(), s.Bearer.Reveal(), s.APIKey.Reveal())
	}
	for _, c := range m.cfg.Checks {
		if c.HTTP != nil {
			for _, v := range c.HTTP.Headers {
				secrets = append(secrets, v.Reveal())
			}
		}
	}
	var nonEmpty []string
	for _, s := range secrets {
		if s != "" {
			nonEmpty = append(nonEmpty, s)
		}
	}
	h.Bot().Redactor().Add(nonEmpty...)
	r, err := monitor.NewRunner(m.cfg, monitor.Options{
		DB: h.Store().DB(), Clock: h.Clock(), Logger: m.log,
		Emit: func(ctx context.Context, e event.Event) error {
			_, err := h.Ingest(ctx, e)
			return err
		},
	})
	if err != nil {
		return fmt.Errorf("monitors: %w", err)
	}
	m.runner = r
	tags := map[string]bool{}
	for _, c := range m.cfg.Checks {
		if c.Heartbeat != nil {
			tags[c.Heartbeat.Tag] = true
		}
	}
	keys := make([]string, 0, len(tags))
	for t := range tags {
		keys = append(keys, t)
	}
	sort.Strings(keys)
	for _, tag := range keys {
		h.Subscribe(tag, func(ctx context.Context, e event.Event) error {
			m.runner.Observe(ctx, e)
			return nil
		})
	}
	if err := m.commands(h); err != nil {
		return err
	}
	h.APIRoute("GET /api/v1/monitors", "monitors:read", m.api())
	h.Route("GET /graphs/{id}", m.graphs)
	return nil
}

// scheduler is what the module needs of the schedules module.
type scheduler interface {
	ScheduleFunc(name, when string, loc *time.Location, run func(ctx context.Context, at time.Time) error) error
}

// CheckPrefix starts the schedule ID of each monitor's check.
const CheckPrefix = "monitors.check/"

// Start schedules every check through the schedules module (so each check
// is claimed once, across replicas), or, without one, on timers of its own.
func (m *Module) Start(ctx context.Context) error {
	var s scheduler
	for _, mod := range m.h.Bot().Modules() {
		if sc, ok := mod.(scheduler); ok {
			s = sc
		}
	}
	if l, ok := s.(interface{ Scheduler() *schedule.Scheduler }); ok && l.Scheduler() != nil {
		m.dropRemoved(ctx, l.Scheduler())
	}
	for _, c := range m.runner.Checks() {
		name := c.Name
		run := func(ctx context.Context, _ time.Time) error { return m.CheckMonitor(ctx, name) }
		if s != nil {
			if err := s.ScheduleFunc(CheckPrefix+name, "every "+monitor.FormatDuration(c.Interval()), time.UTC, run); err != nil {
				return fmt.Errorf("monitors: %s: %w", name, err)
			}
			continue
		}
		go m.loop(ctx, c.Interval(), name)
	}
	return nil
}

// dropRemoved deletes the check schedules of monitors no longer configured.
func (m *Module) dropRemoved(ctx context.Context, s *schedule.Scheduler) {
	es, err := s.List(ctx)
	if err != nil {
		m.log.Error("list schedules", "err", err)
		return
	}
	for _, e := range es {
		name, ok := strings.CutPrefix(e.ID, CheckPrefix)
		if _, known := m.runner.Lookup(name); ok && !known {
			if err := s.Delete(ctx, e.ID); err != nil {
				m.log.Error("remove the schedule of a removed monitor", "schedule", e.ID, "err", err)
			}
		}
	}
}

// loop checks a monitor every interval (when no schedules module runs).
func (m *Module) loop(ctx context.Context, every time.Duration, name string) {
	clk := m.h.Clock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-clk.After(every):
		}
		if err := m.CheckMonitor(ctx, name); err != nil && ctx.Err() == nil {
			m.log.Warn("monitor check", "monitor", name, "err", err)
		}
	}
}

// CheckMonitor checks one monitor now (the schedules module's "monitor"
// action calls it too).
func (m *Module) CheckMonitor(ctx context.Context, name string) error {
	return m.runner.Check(ctx, name)
}
