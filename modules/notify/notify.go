// Package notify is the notify module: the `routes:` section (the route
// tree, see package notify and docs/routes.md) and the pipeline that reads
// the event log from its stored cursor and posts to the routes' rooms
// through the bot (the durable outbox), running routes' actions as their
// service users.
package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/event/eventsql"
	notifier "github.com/opsbot/opsbot/notify"
)

// Module is the notify module.
type Module struct {
	cfg      notifier.Config
	reg      prometheus.Registerer
	timezone string

	b     *bot.Bot
	tree  *notifier.Tree
	loc   *time.Location
	d     *notifier.Dispatcher
	log   notifier.Log
	waker notifier.Waker
	host  *bot.Host
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
	_ bot.Starter      = (*Module)(nil)
)

// New returns the module; its routes come from the config.
func New() *Module { return &Module{} }

// NewWithConfig returns the module with routes set in code (tests).
func NewWithConfig(c notifier.Config) *Module { return &Module{cfg: c} }

// Name is "notify".
func (*Module) Name() string { return "notify" }

// ConfigSection claims `routes`.
func (m *Module) ConfigSection() (string, any) { return "routes", &m.cfg }

// Configure gives the module the metrics registry and the global timezone
// (of mute windows, unless routes.timezone sets one); the app calls it
// before Provision.
func (m *Module) Configure(reg prometheus.Registerer, timezone string) {
	m.reg, m.timezone = reg, timezone
}

// Provision compiles the route tree and builds the pipeline.
func (m *Module) Provision(h *bot.Host) error {
	m.host = h
	tree, err := notifier.Compile(m.cfg)
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	tz := m.cfg.Timezone
	if tz == "" {
		tz = m.timezone
	}
	loc := time.UTC
	if tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return fmt.Errorf("routes: timezone: %w", err)
		}
	}
	m.b, m.tree, m.loc = h.Bot(), tree, loc
	m.d = notifier.New(notifier.Options{
		Tree: tree, DB: h.Store().DB(), Poster: queued{m.b}, Runner: m.b, Directory: directory{st: h.Store()},
		Clock: h.Clock(), Location: loc, DefaultAdapter: m.defaultAdapter, Logger: h.Logger(), Metrics: m.reg,
		PollInterval: m.cfg.PollInterval,
	})
	return nil
}

// queued posts through the bot into the outbox without waiting for the
// delivery: the post is durable once stored, and one slow room does not
// hold up the pipeline.
type queued struct{ b *bot.Bot }

func (q queued) Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	return q.b.PostQueued(ctx, room, p)
}

// Location is the timezone of mute windows.
func (m *Module) Location() *time.Location { return m.loc }

// DefaultAdapterName is the adapter of rooms written without one ("" when
// it cannot be told).
func (m *Module) DefaultAdapterName() string { return m.defaultAdapter() }

// defaultAdapter is the adapter of rooms written without one: the
// configured one, else the bot's only adapter.
func (m *Module) defaultAdapter() string {
	if m.cfg.DefaultAdapter != "" {
		return m.cfg.DefaultAdapter
	}
	if as := m.b.Sender().Adapters(); len(as) == 1 {
		return as[0].Name()
	}
	return ""
}

// source is where the pipeline reads: the ingester's log (woken by it on
// appends), else the event log on the store's database (polled).
func (m *Module) source() (notifier.Log, notifier.Waker) {
	if m.log != nil {
		return m.log, m.waker
	}
	ing := m.b.Ingester()
	if l, ok := ing.(event.LogReader); ok && l.Log() != nil {
		m.log = l.Log()
	} else {
		st := m.b.Store()
		m.log = eventsql.New(st.DB(), st.Dialect(), nil)
	}
	if w, ok := ing.(notifier.Waker); ok {
		m.waker = w
	} else if w, ok := m.log.(notifier.Waker); ok {
		m.waker = w
	}
	return m.log, m.waker
}

// Start loads the pipeline's state and runs it until ctx ends.
// With replicas (a lease manager), one replica at a time runs it, loading
// the stored state each time it takes over.
func (m *Module) Start(ctx context.Context) error {
	log, waker := m.source()
	if m.b.Leases() != nil {
		m.host.Singleton(ctx, "pipeline", func(ctx context.Context) error {
			if err := m.d.Init(ctx, log); err != nil {
				return fmt.Errorf("notify: %w", err)
			}
			m.d.Run(ctx, log, waker)
			return nil
		})
		return nil
	}
	if err := m.d.Init(ctx, log); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	go m.d.Run(ctx, log, waker)
	return nil
}

// Sync routes every event in the log and posts what is due now, then waits
// for the actions it started (tests; the running pipeline does the same by itself).
func (m *Module) Sync(ctx context.Context) error {
	log, _ := m.source()
	return m.d.Sync(ctx, log)
}

// Tree is the compiled route tree.
func (m *Module) Tree() *notifier.Tree { return m.tree }

// Dispatcher is the pipeline.
func (m *Module) Dispatcher() *notifier.Dispatcher { return m.d }
