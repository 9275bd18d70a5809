// Package status is the status page module: the `statuspage:` section, the
// chat grammar (compatible with hubot-statuspage), the public /status,
// /status.json and /status/feed.atom, and GET /api/v1/incidents. See
// docs/status-page.md.
package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/notify"
	"github.com/opsbot/opsbot/statuspage"
	"github.com/opsbot/opsbot/statuspage/atlassian"
)

// Permission is what changing the page needs.
const Permission = "status"

// promptThread is the kind of the thread in which the bot asks for an
// incident message after a component went down with no incident open.
const promptThread = "status.prompt"

// Module is the status page module.
type Module struct {
	cfg      statuspage.Config
	timezone string

	b     *bot.Bot
	clock clock.Clock
	svc   *statuspage.Service
	log   *slog.Logger
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
)

// New returns the module; its components come from the config.
func New() *Module { return &Module{} }

// Name is "status".
func (*Module) Name() string { return "status" }

// ConfigSection claims `statuspage`.
func (m *Module) ConfigSection() (string, any) { return "statuspage", &m.cfg }

// Configure takes the global timezone (of maintenance windows written
// without an offset); the app calls it before Provision.
func (m *Module) Configure(_ prometheus.Registerer, timezone string) { m.timezone = timezone }

// Service is the status page (for other modules and tests).
func (m *Module) Service() *statuspage.Service { return m.svc }

// Provision declares the commands and routes.
func (m *Module) Provision(h *bot.Host) error {
	loc := time.UTC
	if m.timezone != "" {
		l, err := time.LoadLocation(m.timezone)
		if err != nil {
			return fmt.Errorf("statuspage: timezone: %w", err)
		}
		loc = l
	}
	var mirror statuspage.Mirror
	if a := m.cfg.Atlassian; a != nil {
		mirror = &atlassian.Mirror{C: atlassian.New(a.BaseURL, a.PageID, a.APIKey.Reveal(), nil), Components: m.cfg.Components}
	}
	m.b, m.log, m.clock = h.Bot(), h.Logger(), h.Clock()
	m.svc = statuspage.NewService(m.cfg, statuspage.NewStore(h.Store().DB()), h.Clock(), loc, mirror)

	hd := statuspage.NewHandlers(m.svc, m.log)
	h.Route("GET /status", hd.Page())
	h.Route("GET /status.json", hd.JSON())
	h.Route("GET /status/feed.atom", hd.Feed())
	h.APIRoute("GET /api/v1/incidents", "incidents:read", hd.Incidents())

	if err := h.Type(command.TypeFunc("status-change", parseChange)); err != nil {
		return err
	}
	if err := h.Type(command.TypeFunc("status-query", parseQuery)); err != nil {
		return err
	}
	specs := []command.Spec{
		{Name: "status.overview", Grammar: "status?", Help: "the status page at a glance: every component and open incidents", Run: m.overview},
		{Name: "status.incidents", Grammar: "status incidents", Help: "the open incidents", Run: m.incidents},
		{Name: "status.open", Grammar: "status open {status:enum(investigating|identified|monitoring)} {text...}",
			Help: "open an incident: status open investigating Builds delayed: we are looking into it", Permission: Permission, SideEffects: true, Run: m.open},
		{Name: "status.update", Grammar: "status update {text...}",
			Help: "add an update to the latest open incident (or #ID), optionally with a new status: status update monitoring Fix deployed", Permission: Permission, SideEffects: true, Run: m.update},
		{Name: "status.resolve", Grammar: "status resolve [{text...}]",
			Help: "resolve the latest open incident (or #ID)", Permission: Permission, SideEffects: true, Run: m.resolve},
		// Setting and asking share their first word; their argument types
		// tell them apart: a text ending with a state sets, one ending
		// with "?" asks.
		{Name: "status.component", Grammar: "status {component_state:status-change...}",
			Help:       "set a component's state: status Build Processing degraded|partial|major|maintenance|operational",
			Permission: Permission, SideEffects: true, Run: m.component},
		{Name: "status.query", Grammar: "status {component:status-query...}", Help: "a component's state: status Build Processing?", Run: m.query},
		{Name: "status.prompt", Grammar: "{message...}", Thread: promptThread,
			Help: "(in the bot's prompt thread) open an incident with this message", Permission: Permission, SideEffects: true, Run: m.prompted},
	}
	for _, s := range specs {
		if err := h.Command(s); err != nil {
			return err
		}
	}
	return nil
}

// OpenIncident opens an incident (investigating) on behalf of another
// module — the alerts module does when the fleet panics — and announces it
// in the configured room. Other modules find it through a small interface
// of their own.
func (m *Module) OpenIncident(ctx context.Context, name, body, by string) (int64, error) {
	inc, err := m.svc.Open(ctx, statuspage.Investigating, name, body, by)
	var me *statuspage.MirrorError
	if err != nil && !errors.As(err, &me) {
		return 0, err
	}
	if m.cfg.Room != "" {
		if spec, perr := notify.ParseRoom(m.cfg.Room); perr == nil {
			adapter := spec.Adapter
			if adapter == "" {
				if as := m.b.Sender().Adapters(); len(as) == 1 {
					adapter = as[0].Name()
				}
			}
			if adapter != "" {
				text := fmt.Sprintf("Incident #%d opened: **%s** — investigating: %s (by %s)", inc.ID, inc.Name, body, by)
				if _, perr := m.b.Post(ctx, spec.Room(adapter), chat.Post{Text: text, Severity: chat.SeverityCritical}); perr != nil {
					m.log.Warn("statuspage: announce failed", "err", perr)
				}
			}
		}
	}
	return inc.ID, err
}

// parseChange accepts "COMPONENT WORDS STATE".
func parseChange(_ context.Context, s string) (string, error) {
	words, st, ok := statuspage.SplitState(strings.Fields(s))
	switch {
	case !ok:
		return "", fmt.Errorf("%q ends with no state (operational, degraded, partial, major, maintenance; `status %s?` asks)", s, s)
	case len(words) == 0:
		return "", fmt.Errorf("a component is needed: `status COMPONENT %s`", st.Label())
	}
	return strings.Join(strings.Fields(s), " "), nil
}

// parseQuery accepts "COMPONENT WORDS?" and returns the component's words.
func parseQuery(_ context.Context, s string) (string, error) {
	q, ok := strings.CutSuffix(strings.TrimSpace(s), "?")
	if !ok {
		return "", fmt.Errorf("%q is not a question", s)
	}
	return strings.TrimSpace(q), nil
}
