// Package app wires opsbot together: config, store, bot, modules, HTTP. The
// CLI's subcommands build an App and use the parts they need.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/inbound"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/lease"
	"github.com/opsbot/opsbot/outbox"
	"github.com/opsbot/opsbot/redact"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// DefaultConfigFile is read when --config is not given and it exists.
const DefaultConfigFile = "opsbot.yaml"

// Options are the flags every subcommand shares, and a few test hooks.
type Options struct {
	ConfigFile  string // --config; "" → ./opsbot.yaml if present, else defaults
	DataDir     string // --data; default ./opsbot-data
	DatabaseURL string // --database; overrides the config's database
	LogOutput   io.Writer
	Clock       clock.Clock
	DryRun      bool
	// Modules replaces the built-in module list (tests).
	Modules []bot.Module
}

// App is a loaded configuration with its store and bot.
type App struct {
	Opts     Options
	Core     Core
	Loader   *config.Loader
	Log      *slog.Logger
	Redactor *redact.Redactor
	Registry *prometheus.Registry
	Sender   *chat.Sender
	Store    store.Store
	Bot      *bot.Bot
	Modules  []bot.Module
	Jobs     *jobs.Runner
	Outbox   *outbox.Outbox
	// Leases and Claims are set on PostgreSQL, where replicas may share
	// the database (app/replicas.go).
	Leases *lease.Manager
	Claims *inbound.Claims
	single map[string]bool
	// ConfigPath is the file that was loaded ("" for defaults).
	ConfigPath string
}

// LoadConfig reads and validates the configuration without opening anything.
func LoadConfig(o Options) (*App, error) {
	if o.DataDir == "" {
		o.DataDir = "opsbot-data"
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.LogOutput == nil {
		o.LogOutput = os.Stderr
	}
	mods := o.Modules
	if mods == nil {
		mods = BuiltinModules()
	}
	a := &App{Opts: o, Core: DefaultCore(), Loader: config.NewLoader(), Modules: mods, Redactor: redact.New(),
		Registry: prometheus.NewRegistry()}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.Core.register(a.Loader); err != nil {
		return nil, err
	}
	targets := []any{&a.Core}
	for _, m := range mods {
		if c, ok := m.(bot.Configurable); ok {
			name, target := c.ConfigSection()
			targets = append(targets, target)
			if err := a.Loader.Register(name, target); err != nil {
				return nil, fmt.Errorf("module %s: %w", m.Name(), err)
			}
		}
	}
	path := o.ConfigFile
	if path == "" {
		if _, err := os.Stat(DefaultConfigFile); err == nil {
			path = DefaultConfigFile
		}
	}
	if path != "" {
		if err := a.Loader.LoadFile(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("config file %s does not exist", path)
			}
			return nil, err
		}
		a.ConfigPath = path
	}
	if err := validTimezone(a.Core.Timezone); err != nil {
		return nil, fmt.Errorf("%s: timezone: %w", path, err)
	}
	a.Redactor.Add(secretsIn(targets...)...)
	a.Log = newLogger(o.LogOutput, a.Core.Log, a.Redactor)
	return a, nil
}

func newLogger(w io.Writer, c LogConfig, r *redact.Redactor) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(r.Handler(h))
}

// DatabaseURL is the database to open: the flag, else the config, else SQLite under the data dir.
func (a *App) DatabaseURL() string {
	if a.Opts.DatabaseURL != "" {
		return a.Opts.DatabaseURL
	}
	return a.Core.Database.Reveal()
}

// Open loads the config, opens and migrates the store.
func Open(ctx context.Context, o Options) (*App, error) {
	a, err := LoadConfig(o)
	if err != nil {
		return nil, err
	}
	if err := a.OpenStore(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// OpenStore opens and migrates the store.
func (a *App) OpenStore(ctx context.Context) error {
	url := a.DatabaseURL()
	if url != "" {
		a.Redactor.Add(passwordOf(url))
	}
	st, err := sqlstore.Open(ctx, url, a.Opts.DataDir)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return fmt.Errorf("migrate: %w", err)
	}
	a.Store = st
	return nil
}

// passwordOf returns the password part of a database URL, to mask it.
func passwordOf(url string) string {
	rest, ok := strings.CutPrefix(url, "postgres://")
	if !ok {
		rest, ok = strings.CutPrefix(url, "postgresql://")
	}
	if !ok {
		return ""
	}
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(userinfo, ":")
	return pw
}

// Build creates the bot, seeds users from config and provisions the modules.
func (a *App) Build(ctx context.Context, adapters ...chat.Adapter) error {
	a.Sender = chat.NewSender(adapters...)
	a.single = singleAdapters(adapters)
	a.Bot = bot.New(bot.Options{
		Name: a.Core.Bot.Name, Aliases: a.Core.Bot.Aliases, Prefix: a.Core.Bot.Prefix,
		Store: a.Store, Sender: a.Sender, Clock: a.Opts.Clock, Logger: a.Log, Redactor: a.Redactor,
		Metrics: a.Registry, ConfirmTimeout: a.Core.Bot.ConfirmTimeout, DryRun: a.Opts.DryRun,
		Rules: a.Core.StaticRules(),
	})
	if err := a.seedUsers(ctx); err != nil {
		return err
	}
	if err := a.beforeProvision(ctx); err != nil {
		return err
	}
	return a.Bot.Provision(a.Modules...)
}

// seedUsers creates the users of `users:` and `groups:` that are missing, with
// their groups and identities. It only adds: removing a user from the file
// does not delete it from the store.
func (a *App) seedUsers(ctx context.Context) error {
	ensure := func(name string) (store.User, error) {
		u, err := a.Store.UserByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			u, err = a.Store.CreateUser(ctx, name)
		}
		if err != nil {
			return u, fmt.Errorf("seed user %s: %w", name, err)
		}
		return u, nil
	}
	for _, us := range a.Core.Users {
		u, err := ensure(us.Name)
		if err != nil {
			return err
		}
		for _, g := range us.Groups {
			if err := a.Store.AddToGroup(ctx, u.ID, g); err != nil {
				return fmt.Errorf("seed user %s: %w", us.Name, err)
			}
		}
		for _, id := range us.Identities {
			ad, cid, _ := strings.Cut(id, ":")
			if err := a.Store.LinkIdentity(ctx, store.Identity{UserID: u.ID, Adapter: ad, ChatID: cid, Name: us.Name}); err != nil {
				return fmt.Errorf("seed user %s: %w", us.Name, err)
			}
		}
	}
	for g, members := range a.Core.Groups {
		for _, name := range members {
			u, err := ensure(name)
			if err != nil {
				return err
			}
			if err := a.Store.AddToGroup(ctx, u.ID, g); err != nil {
				return fmt.Errorf("seed group %s: %w", g, err)
			}
		}
	}
	return nil
}

// Close releases the store.
func (a *App) Close() error {
	if a.Store != nil {
		return a.Store.Close()
	}
	return nil
}
