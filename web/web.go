// Package web is opsbot's web console: a chat adapter ("web") whose rooms
// live in the browser, the login, and the dashboard pages (rooms, audit,
// jobs, users, API tokens). Everything is served on the bot's one listener
// through Host.Route, rendered on the server with html/template, with a
// little JavaScript embedded in the binary (no CDN, no inline script).
//
// The chat is a chat.Adapter like any other: a message a logged-in user
// posts over HTTP reaches the bot on Run's channel as a chat.Message from
// Identity{Adapter: "web", ID: username}; the bot's posts arrive through
// Post, PostInThread and Update, are stored, and are pushed to the browsers
// in the room by server-sent events.
package web

import (
	"context"
	"errors"
	"fmt"
	"github.com/opsbot/opsbot/event"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store"
)

// Name is the adapter's and the module's name.
const Name = "web"

// Config is the `web:` section.
type Config struct {
	// DefaultRoom is the room that always exists and that / opens.
	DefaultRoom string `yaml:"default_room"`
	// SecureCookies marks cookies Secure: set it when the console is served over TLS
	// (directly or behind a proxy).
	SecureCookies bool `yaml:"secure_cookies"`
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// AddressRequired makes the bot answer only messages addressed to it
	// ("opsbot help", "!help"), as in a team chat; by default every message
	// in a console room is for the bot.
	AddressRequired bool `yaml:"address_required"`
	// LoginRate limits failed logins per client address and per user name.
	LoginRate LoginRate `yaml:"login_rate"`
}

// LoginRate is at most Failures failed logins per Window.
type LoginRate struct {
	Failures int           `yaml:"failures"`
	Window   time.Duration `yaml:"window"`
}

// DefaultConfig is the configuration without a `web:` section.
func DefaultConfig() Config {
	return Config{DefaultRoom: "general", SessionTTL: 12 * time.Hour, LoginRate: LoginRate{Failures: 5, Window: 5 * time.Minute}}
}

// Validate checks the section.
func (c *Config) Validate() error {
	var errs []error
	if !validRoomName(c.DefaultRoom) {
		errs = append(errs, fmt.Errorf("default_room: %q is not a room name (a-z, 0-9, - and _, at most 40)", c.DefaultRoom))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("session_ttl: at least 1m"))
	}
	if c.LoginRate.Failures < 1 {
		errs = append(errs, errors.New("login_rate.failures: at least 1"))
	}
	if c.LoginRate.Window < time.Second {
		errs = append(errs, errors.New("login_rate.window: at least 1s"))
	}
	return errors.Join(errs...)
}

// Module is the web console. The same value is the module (New, listed in
// app.BuiltinModules) and, through Adapter, the chat adapter handed to the bot.
type Module struct {
	cfg     Config
	st      store.Store
	clk     clock.Clock
	log     *slog.Logger
	botName string
	adapter *Adapter
	hub     *hub
	pages   *pages
	ready   bool
	rooms   sync.Map // room names known to exist
	// done ends the event streams when the bot stops (Start's context), so
	// an open browser tab does not hold up the listener's graceful shutdown.
	done <-chan struct{}
	// events is the event log, for the events page (nil without an ingester).
	events event.Log
	// failed lists and requeues posts the outbox gave up on (nil without an outbox).
	failed FailedPosts
}

// New returns the console with the default configuration.
func New() *Module {
	m := &Module{cfg: DefaultConfig(), hub: newHub(), botName: "opsbot"}
	m.adapter = &Adapter{m: m, inbound: make(chan chat.Message, 256)}
	return m
}

// Name is "web".
func (m *Module) Name() string { return Name }

// ConfigSection registers the `web:` section.
func (m *Module) ConfigSection() (string, any) { return "web", &m.cfg }

// Adapter is the console's chat adapter, to pass to the bot with the others.
func (m *Module) Adapter() *Adapter { return m.adapter }

// ChatAdapter is Adapter as a chat.Adapter, for wiring that looks for modules
// that bring their own chat.
func (m *Module) ChatAdapter() chat.Adapter { return m.adapter }

// Deps are what the console needs; Provision takes them from the Host.
type Deps struct {
	Store   store.Store
	Clock   clock.Clock
	Logger  *slog.Logger
	BotName string
}

// Setup prepares the console without a bot (tests, tools): the store, the
// default room, the templates. Provision calls it.
func (m *Module) Setup(ctx context.Context, d Deps) error {
	if err := m.cfg.Validate(); err != nil {
		return err
	}
	m.st, m.clk, m.log = d.Store, d.Clock, d.Logger
	if m.clk == nil {
		m.clk = clock.Real{}
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if d.BotName != "" {
		m.botName = d.BotName
	}
	p, err := newPages()
	if err != nil {
		return err
	}
	m.pages = p
	if err := m.ensureRoom(ctx, m.cfg.DefaultRoom); err != nil {
		return err
	}
	m.ready = true
	return nil
}

// Provision sets the console up and registers its routes.
func (m *Module) Provision(h *bot.Host) error {
	if err := m.Setup(context.Background(), Deps{Store: h.Store(), Clock: h.Clock(), Logger: h.Logger(), BotName: h.Bot().Name()}); err != nil {
		return err
	}
	if lr, ok := h.Bot().Ingester().(event.LogReader); ok {
		m.SetEventLog(lr.Log())
	}
	if fp, ok := h.Bot().Poster().(FailedPosts); ok {
		m.SetFailedPosts(fp)
	}
	for _, r := range m.routes() {
		h.Route(r.pattern, m.handler(r))
	}
	return nil
}

// Start ends the console's event streams when ctx ends.
func (m *Module) Start(ctx context.Context) error {
	m.done = ctx.Done()
	return nil
}

// Handler serves every console route (tests; the bot serves them through Host.Route).
func (m *Module) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range m.routes() {
		mux.Handle(r.pattern, m.handler(r))
	}
	return mux
}

// SetEventLog gives the console the event log its events page shows.
func (m *Module) SetEventLog(l event.Log) { m.events = l }
