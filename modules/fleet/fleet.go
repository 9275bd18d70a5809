// Package fleet is the chat side of package fleet: the `instances` config
// section, the `instance` argument type, the commands `platform`, `health`,
// `restart`, `force restart`, `switch`, `switch back`, `tasks` and `panic`,
// the periodic health check that emits fleet.instance.* events, and
// GET /api/v1/instances. See docs/fleet.md.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/event"
	fl "github.com/opsbot/opsbot/fleet"
)

// Module is the fleet module.
type Module struct {
	cfg fl.Config

	client *http.Client
	h      *bot.Host
	log    *slog.Logger
	fleet  *fl.Fleet
	watch  *fl.Watcher
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
	_ bot.Starter      = (*Module)(nil)
)

// New returns the fleet module; its instances come from the config.
func New() *Module { return &Module{} }

// NewWithConfig returns the module with its config set in code and an HTTP
// client of the caller's (tests, programs that embed opsbot).
func NewWithConfig(cfg fl.Config, client *http.Client) *Module {
	return &Module{cfg: cfg, client: client}
}

// Name is "fleet".
func (*Module) Name() string { return "fleet" }

// ConfigSection claims `instances`.
func (m *Module) ConfigSection() (string, any) { return "instances", &m.cfg }

// Fleet is the module's fleet (nil before Provision).
func (m *Module) Fleet() *fl.Fleet { return m.fleet }

// Watcher is the periodic health check (nil before Provision).
func (m *Module) Watcher() *fl.Watcher { return m.watch }

// Permissions the fleet commands need.
const (
	PermRestart      = "fleet:restart"
	PermForceRestart = "fleet:force-restart"
	PermSwitch       = "fleet:switch"
	PermPanic        = "fleet:panic"
)

// TagPanic is the tag of the event the panic button emits.
const TagPanic = "fleet.panic"

// Provision declares the `instance` and `fleet-app` types and, when
// instances are configured, the commands and the API route.
func (m *Module) Provision(h *bot.Host) error {
	if err := m.cfg.Validate(); err != nil {
		return fmt.Errorf("instances: %w", err)
	}
	m.h, m.log = h, h.Logger()
	m.fleet = fl.New(fl.Options{Config: m.cfg, DB: h.Store().DB(), Clock: h.Clock(), Logger: m.log, Client: m.client})
	m.watch = fl.NewWatcher(m.fleet, func(ctx context.Context, evs ...event.Event) error {
		_, err := h.Ingest(ctx, evs...)
		return err
	})
	var secrets []string
	for _, in := range m.cfg.List {
		for _, v := range in.Headers {
			secrets = append(secrets, v.Reveal())
		}
		if in.Restart != nil && in.Restart.HTTP != nil {
			for _, v := range in.Restart.HTTP.Headers {
				secrets = append(secrets, v.Reveal())
			}
		}
	}
	for _, a := range m.cfg.Apps {
		if a != nil && a.Active != nil {
			for _, v := range a.Active.Headers {
				secrets = append(secrets, v.Reveal())
			}
		}
		if a != nil && a.Switch != nil && a.Switch.HTTP != nil {
			for _, v := range a.Switch.HTTP.Headers {
				secrets = append(secrets, v.Reveal())
			}
		}
	}
	h.Bot().Redactor().Add(secrets...)

	if err := h.Type(instanceType{m.fleet}); err != nil {
		return err
	}
	if err := h.Type(appType{m.fleet}); err != nil {
		return err
	}
	if len(m.cfg.List) == 0 {
		return nil
	}
	if err := m.commands(h); err != nil {
		return fmt.Errorf("instances: %w", err)
	}
	h.APIRoute("GET /api/v1/instances", "instances:read", m.apiHandler())
	return nil
}

// Start runs the periodic health check.
func (m *Module) Start(ctx context.Context) error {
	if m.fleet == nil || len(m.cfg.List) == 0 || !m.fleet.Config().Polling() {
		return nil
	}
	go m.watch.Run(ctx)
	return nil
}

// ActiveColour is the colour of a blue-green app that takes the traffic
// (the contract the deployments module's blue-green provider uses).
func (m *Module) ActiveColour(ctx context.Context, app string) (string, error) {
	if m.fleet == nil {
		return "", errors.New("the fleet module is not provisioned")
	}
	return m.fleet.ActiveColour(ctx, app)
}

// SwitchTo moves app's traffic to colour: health-gates the target,
// switches, verifies. Already being on colour is not an error; the error
// says why when the switch was refused or failed.
func (m *Module) SwitchTo(ctx context.Context, app, colour, by string) error {
	if m.fleet == nil {
		return errors.New("the fleet module is not provisioned")
	}
	_, err := m.fleet.SwitchTo(ctx, app, colour, by)
	if errors.Is(err, fl.ErrAlreadyActive) {
		return nil
	}
	return err
}

// instanceType is the `instance` argument type: the words of a command
// name an instance in any order, by name, alias, app, role, environment or
// icon, narrowed by `active` or `inactive`.
type instanceType struct{ f *fl.Fleet }

func (instanceType) Name() string { return "instance" }

func (t instanceType) Parse(ctx context.Context, s string) (string, error) {
	in, err := t.f.Resolve(ctx, s)
	if err != nil {
		return "", err
	}
	return in.Name, nil
}

func (t instanceType) Values(context.Context) ([]string, error) { return t.f.Names(), nil }

// appType is the `fleet-app` argument type: a blue-green app by name or alias.
type appType struct{ f *fl.Fleet }

func (appType) Name() string { return "fleet-app" }

func (t appType) Parse(_ context.Context, s string) (string, error) {
	if name, ok := t.f.App(s); ok {
		return name, nil
	}
	apps := t.f.Apps()
	if len(apps) == 0 {
		return "", fmt.Errorf("%q is not a blue-green app: none is configured (instances.apps)", s)
	}
	return "", fmt.Errorf("%q is not a blue-green app (known: %s)", s, strings.Join(apps, ", "))
}

func (t appType) Values(context.Context) ([]string, error) { return t.f.Apps(), nil }

var (
	_ command.Enumerator = instanceType{}
	_ command.Enumerator = appType{}
)
