// Package bot is the command engine: it takes inbound chat messages through
// identity → match → authorise → confirm → run, audits every decision, and
// hosts the modules that declare commands.
package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/lease"
	"github.com/opsbot/opsbot/redact"
	"github.com/opsbot/opsbot/store"
)

// Options configure a Bot.
type Options struct {
	Name    string   // the bot's name, "opsbot"
	Aliases []string // other names it answers to
	Prefix  string   // a command prefix such as "!"; empty for none

	Store    store.Store
	Sender   *chat.Sender
	Clock    clock.Clock
	Logger   *slog.Logger
	Redactor *redact.Redactor
	Metrics  prometheus.Registerer

	// Rules are permission rules from config, applied with those in the store.
	Rules []store.Rule

	// ConfirmTimeout is how long a confirmation stays open (default 2 minutes).
	ConfirmTimeout time.Duration
	// DryRun is passed to every call: providers say what they would do.
	DryRun bool
	// Workers is the number of message workers; messages of one room are
	// always handled in order by the same worker (default 8).
	Workers int
}

// Bot is the engine.
type Bot struct {
	name, prefix string
	aliases      []string
	store        store.Store
	sender       *chat.Sender
	poster       Poster
	claimer      Claimer
	leases       *lease.Manager
	ingester     event.Ingester
	clock        clock.Clock
	log          *slog.Logger
	redactor     *redact.Redactor
	metrics      *metrics
	registerer   prometheus.Registerer
	dryRun       bool
	confirmTTL   time.Duration
	workers      int
	staticRules  []store.Rule

	types   *command.Types
	matcher *command.Matcher
	threads map[string]bool // thread kinds that have commands
	events  *event.Bus
	routes  []Route
	modules []Module
	hosts   map[string]*Host
	jobs    *jobs.Runner

	mu       sync.Mutex
	inflight sync.WaitGroup
	queues   []chan job
}

type job struct {
	ctx context.Context
	msg chat.Message
}

// New returns a bot; call Provision with the modules, then Run.
func New(o Options) *Bot {
	if o.Name == "" {
		o.Name = "opsbot"
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ConfirmTimeout <= 0 {
		o.ConfirmTimeout = 2 * time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Sender == nil {
		o.Sender = chat.NewSender()
	}
	if o.Redactor == nil {
		o.Redactor = redact.New()
	}
	types := command.NewTypes()
	b := &Bot{
		name: strings.ToLower(o.Name), prefix: o.Prefix, aliases: lower(o.Aliases),
		store: o.Store, sender: o.Sender, poster: o.Sender, clock: o.Clock, log: o.Logger, redactor: o.Redactor,
		metrics: newMetrics(o.Metrics), registerer: o.Metrics, dryRun: o.DryRun, confirmTTL: o.ConfirmTimeout, workers: o.Workers, staticRules: o.Rules,
		types: types, matcher: command.NewMatcher(types), threads: map[string]bool{},
		events: event.NewBus(o.Logger), hosts: map[string]*Host{},
	}
	return b
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

// Name is the bot's name.
func (b *Bot) Name() string { return b.name }

// Sender is the bot's chat sender.
func (b *Bot) Sender() *chat.Sender { return b.sender }

// Store is the bot's store.
func (b *Bot) Store() store.Store { return b.store }

// Events is the event bus.
func (b *Bot) Events() *event.Bus { return b.events }

// Routes are the HTTP routes modules declared.
func (b *Bot) Routes() []Route { return b.routes }

// Modules are the provisioned modules.
func (b *Bot) Modules() []Module { return b.modules }

// Matcher is the main command matcher.
func (b *Bot) Matcher() *command.Matcher { return b.matcher }

// Types is the argument type registry.
func (b *Bot) Types() *command.Types { return b.types }

// Provision lets each module declare what it adds, in order.
func (b *Bot) Provision(mods ...Module) error {
	for _, m := range mods {
		h := &Host{bot: b, module: m.Name()}
		if err := m.Provision(h); err != nil {
			return fmt.Errorf("module %s: %w", m.Name(), err)
		}
		b.hosts[m.Name()] = h
		b.modules = append(b.modules, m)
	}
	return nil
}

func (b *Bot) addCommand(s *command.Spec) error {
	if s.Name == "" || s.Grammar == "" || s.Run == nil {
		return fmt.Errorf("command %q: name, grammar and handler are required", s.Name)
	}
	if s.Thread != "" {
		b.threads[s.Thread] = true
	}
	return b.matcher.Add(s)
}

// Start runs every module that has background work.
func (b *Bot) Start(ctx context.Context) error {
	for _, m := range b.modules {
		if s, ok := m.(Starter); ok {
			if err := s.Start(ctx); err != nil {
				return fmt.Errorf("start module %s: %w", m.Name(), err)
			}
		}
	}
	go b.expireLoop(ctx)
	return nil
}

// Run connects the adapters and handles their messages until ctx ends.
func (b *Bot) Run(ctx context.Context, adapters ...chat.Adapter) error {
	in := make(chan chat.Message, 64)
	b.startWorkers(ctx)
	errc := make(chan error, len(adapters))
	for _, a := range adapters {
		go func(a chat.Adapter) {
			err := a.Run(ctx, in)
			if err != nil && ctx.Err() == nil {
				b.log.Error("adapter stopped", "adapter", a.Name(), "err", err)
			}
			errc <- err
		}(a)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-in:
			b.Enqueue(ctx, m)
		}
	}
}

func (b *Bot) startWorkers(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.queues != nil {
		return
	}
	b.queues = make([]chan job, b.workers)
	for i := range b.queues {
		q := make(chan job, 256)
		b.queues[i] = q
		go func() {
			for j := range q {
				b.handleClaimed(j.ctx, j.msg)
				b.sender.Handled(j.msg)
				b.inflight.Done()
			}
		}()
	}
	_ = ctx
}

// Enqueue hands a message to the worker of its room: messages of one room
// are handled in the order they arrived.
func (b *Bot) Enqueue(ctx context.Context, m chat.Message) {
	b.startWorkers(ctx)
	h := fnv.New32a()
	h.Write([]byte(m.Room.Adapter + "\x00" + m.Room.ID))
	b.inflight.Add(1)
	b.queues[int(h.Sum32())%len(b.queues)] <- job{ctx: ctx, msg: m}
}

// Wait blocks until every enqueued message has been handled.
func (b *Bot) Wait() { b.inflight.Wait() }

// Poster is where the bot's posts go: the chat.Sender directly, or a
// durable outbox in front of it (SetPoster).
type Poster interface {
	Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error)
	PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error)
	Update(ctx context.Context, ref chat.Ref, p chat.Post) (chat.Ref, error)
}

// Poster is where the bot's posts go (the outbox, when one is set).
func (b *Bot) Poster() Poster { return b.poster }

// SetPoster routes every post of the bot and its modules through p (an
// outbox); call it before Run.
func (b *Bot) SetPoster(p Poster) { b.poster = p }

// Post posts to a room, with secrets masked.
func (b *Bot) Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	return b.poster.Post(ctx, room, b.mask(p))
}

// PostInThread posts under an earlier post, with secrets masked.
func (b *Bot) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	return b.poster.PostInThread(ctx, parent, b.mask(p))
}

// Update changes an earlier post (a new post where the chat cannot edit),
// with secrets masked.
func (b *Bot) Update(ctx context.Context, ref chat.Ref, p chat.Post) (chat.Ref, error) {
	return b.poster.Update(ctx, ref, b.mask(p))
}

func (b *Bot) mask(p chat.Post) chat.Post {
	p.Text = b.redactor.String(p.Text)
	if len(p.Fields) > 0 {
		fs := make([]chat.Field, len(p.Fields))
		for i, f := range p.Fields {
			f.Value = b.redactor.String(f.Value)
			fs[i] = f
		}
		p.Fields = fs
	}
	return p
}

// Redactor is the bot's secret masker.
func (b *Bot) Redactor() *redact.Redactor { return b.redactor }

// errQuiet is returned by handlers that already told the user what went wrong.
var errQuiet = errors.New("already reported")

// ErrReported lets a handler fail without the bot adding its own error reply.
var ErrReported = errQuiet

// Now is the bot's clock's time.
func (b *Bot) Now() time.Time { return b.clock.Now() }
