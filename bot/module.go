package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store"
)

// Module is how a capability plugs in: it declares what it adds on the Host.
// Built-in modules are listed in modules/all; the engine knows none by name.
type Module interface {
	Name() string
	Provision(h *Host) error
}

// Configurable is a module with its own top-level config section. The config
// loader decodes the section into the pointer Section returns (strictly: an
// unknown key is an error with file:line:key) before Provision runs; if the
// target has a Validate() error method it is called too.
type Configurable interface {
	ConfigSection() (name string, target any)
}

// Starter is a module with background work; Start is called once the bot runs
// and must return promptly (start goroutines that end with ctx).
type Starter interface {
	Start(ctx context.Context) error
}

// Route is an HTTP route a module adds to the one listener.
type Route struct {
	Pattern string // a net/http ServeMux pattern: "POST /hooks/github"
	Handler http.Handler
	Module  string
	// Scope, when set, makes it an API route: a bearer token with this scope
	// is required (401 without a valid token, 403 without the scope).
	Scope string
}

// Host is what a module sees while it provisions: where it declares commands,
// types, routes, subscriptions and jobs, and what it may use.
type Host struct {
	bot    *Bot
	module string
}

// Name is the module being provisioned.
func (h *Host) Name() string { return h.module }

// Command declares a chat command.
func (h *Host) Command(s command.Spec) error {
	s.Module = h.module
	return h.bot.addCommand(&s)
}

// Type declares an argument type (app, env, instance…) usable in grammars.
// Declare types before the commands that use them.
func (h *Host) Type(t command.Type) error {
	if err := h.bot.types.Register(t); err != nil {
		return fmt.Errorf("module %s: type %s: %w", h.module, t.Name(), err)
	}
	return nil
}

// Route declares an HTTP route on the bot's listener.
func (h *Host) Route(pattern string, handler http.Handler) {
	h.bot.routes = append(h.bot.routes, Route{Pattern: pattern, Handler: handler, Module: h.module})
}

// APIRoute declares a token-protected API route (under /api/v1/…): the
// listener checks the bearer token and its scope before handler runs.
func (h *Host) APIRoute(pattern, scope string, handler http.Handler) {
	h.bot.routes = append(h.bot.routes, Route{Pattern: pattern, Handler: handler, Module: h.module, Scope: scope})
}

// Subscribe calls fn for every event whose tag matches pattern ("deploy.*", "alert.**").
func (h *Host) Subscribe(pattern string, fn event.Handler) {
	h.bot.events.Subscribe(h.module, pattern, fn)
}

// Publish sends an event to the subscribers.
func (h *Host) Publish(ctx context.Context, e event.Event) { h.bot.events.Publish(ctx, e) }

// Store is the bot's store.
func (h *Host) Store() store.Store { return h.bot.store }

// Logger is a logger tagged with the module's name.
func (h *Host) Logger() *slog.Logger { return h.bot.log.With("module", h.module) }

// Metrics is where a module registers its Prometheus collectors (nil in
// tests that run without a registry).
func (h *Host) Metrics() prometheus.Registerer { return h.bot.registerer }

// Clock is the bot's clock (a fake one in tests).
func (h *Host) Clock() clock.Clock { return h.bot.clock }

// Post posts to a room through the bot's sender (capability fallbacks applied).
func (h *Host) Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	return h.bot.Post(ctx, room, p)
}

// PostInThread posts under an earlier post.
func (h *Host) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	return h.bot.PostInThread(ctx, parent, p)
}

// Bot is the engine, for modules that need more than the Host offers (the
// core module's help and explain).
func (h *Host) Bot() *Bot { return h.bot }
