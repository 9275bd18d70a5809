// Package events is the chat and HTTP side of the event log: the ingest API
// `POST /api/v1/events` and the `changes` command. Its config section
// `events:` also sizes the ingester the app builds (see app/events.go and
// docs/events.md).
package events

import (
	"errors"
	"fmt"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
)

// Defaults of the `events:` section.
const (
	DefaultMaxBody   = 1 << 20
	DefaultMaxEvents = 1000
)

// Config is the `events:` section.
type Config struct {
	// MaxBody is the largest request body the API reads, in bytes (413 past it).
	MaxBody int64 `yaml:"max_body"`
	// MaxEvents is the most events one request may carry (413 past it).
	MaxEvents int `yaml:"max_events"`
	// MaxBatch caps the events of one group commit.
	MaxBatch int `yaml:"max_batch"`
	// MaxWait is how long a group commit lingers for more events (0: none).
	MaxWait time.Duration `yaml:"max_wait"`
}

// DefaultConfig is the section's defaults.
func DefaultConfig() Config {
	return Config{MaxBody: DefaultMaxBody, MaxEvents: DefaultMaxEvents, MaxBatch: event.DefaultMaxBatch}
}

// Validate checks the section.
func (c *Config) Validate() error {
	var errs config.FieldErrors
	if c.MaxBody < 1024 {
		errs.Add("max_body", "must be at least 1024 bytes")
	}
	if c.MaxEvents < 1 {
		errs.Add("max_events", "must be at least 1")
	}
	if c.MaxBatch < 1 {
		errs.Add("max_batch", "must be at least 1")
	}
	if c.MaxWait < 0 || c.MaxWait > time.Second {
		errs.Add("max_wait", "must be from 0 to 1s")
	}
	return errs.Err()
}

// Module is the events module.
type Module struct {
	cfg   Config
	ing   event.Ingester
	log   event.Log
	clock clock.Clock
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
)

// New returns the module with the default config.
func New() *Module { return &Module{cfg: DefaultConfig()} }

// Name is "events".
func (*Module) Name() string { return "events" }

// ConfigSection claims `events`.
func (m *Module) ConfigSection() (string, any) { return "events", &m.cfg }

// Config is the module's configuration (the app sizes the ingester from it).
func (m *Module) Config() Config { return m.cfg }

// ErrNoLog is returned by Provision when the bot's ingester does not tell
// its log.
var ErrNoLog = errors.New("the bot's event ingester has no readable log")

// Provision declares the API route and the `changes` command.
func (m *Module) Provision(h *bot.Host) error {
	m.ing, m.clock = h.Bot().Ingester(), h.Clock()
	if m.ing == nil {
		return fmt.Errorf("events: %w", bot.ErrNoIngester)
	}
	lr, ok := m.ing.(event.LogReader)
	if !ok {
		return fmt.Errorf("events: %w", ErrNoLog)
	}
	m.log = lr.Log()
	h.APIRoute("POST /api/v1/events", "events:write", m.apiHandler())
	return h.Command(command.Spec{
		Name: "changes", Grammar: "changes [since {since:duration=2h}] [{service}]",
		Help: "what happened lately (deployments, restarts, config changes, alerts), newest first; " +
			"a service narrows to its `service` label or a word of the tag",
		Run: m.changes,
	})
}
