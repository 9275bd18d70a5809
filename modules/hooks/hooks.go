// Package hooks is the webhook module: it mounts POST /hooks/{source} and
// POST /hooks/generic/{name} for the sources configured under `hooks:` and
// ingests what they send as events. The sources themselves are in the
// top-level hooks package tree. See docs/hooks.md.
package hooks

import (
	"github.com/prometheus/client_golang/prometheus"

	"fmt"
	"net/http"

	"github.com/opsbot/opsbot/bot"
	wh "github.com/opsbot/opsbot/hooks"
)

// Module is the webhook module.
type Module struct {
	cfg     Config
	handler *wh.Handler
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
)

// New returns the module; its sources come from the config.
func New() *Module { return &Module{} }

// NewWithConfig returns the module with a config set in code.
func NewWithConfig(c Config) *Module { return &Module{cfg: c} }

// Name is "hooks".
func (*Module) Name() string { return "hooks" }

// ConfigSection claims `hooks`.
func (m *Module) ConfigSection() (string, any) { return "hooks", &m.cfg }

// Provision builds the sources and mounts the routes. The routes are
// mounted even with no source configured, so that every delivery gets a
// clear 404 naming the source.
func (m *Module) Provision(h *bot.Host) error {
	sources, err := m.cfg.Sources()
	if err != nil {
		return fmt.Errorf("hooks: %w", err)
	}
	reg := wh.NewRegistry()
	for name, s := range sources {
		if err := reg.Register(name, s); err != nil {
			return err
		}
	}
	m.handler = &wh.Handler{
		Registry: reg, Ingest: h.Ingest, MaxBytes: m.cfg.MaxBodyBytes,
		Clock: h.Clock(), Log: h.Logger(),
	}
	if reg := h.Metrics(); reg != nil {
		deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "opsbot", Name: "hooks_deliveries_total",
			Help: "Webhook deliveries by source and outcome (accepted, ignored, unauthorized, malformed, …).",
		}, []string{"source", "outcome"})
		if err := reg.Register(deliveries); err != nil {
			return fmt.Errorf("hooks: metrics: %w", err)
		}
		m.handler.Observe = func(source, outcome string) { deliveries.WithLabelValues(source, outcome).Inc() }
	}
	h.Route("POST /hooks/{source}", m.handler)
	h.Route("POST /hooks/generic/{name}", m.handler)
	if names := reg.Names(); len(names) > 0 {
		h.Logger().Info("webhook sources enabled", "sources", names)
	}
	return nil
}

// Handler is the HTTP handler (for tests and embedding).
func (m *Module) Handler() http.Handler { return m.handler }
