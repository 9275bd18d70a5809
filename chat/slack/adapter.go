// Package slack is the Slack chat adapter, on github.com/slack-go/slack.
//
// It receives over Socket Mode (the default: an outbound WebSocket, no
// public URL) or the Events API (HTTP requests to opsbot's listener, each
// verified against the app's signing secret), acknowledges every envelope
// or request at once and does the work in the background. Messages where
// the bot is mentioned or addressed, direct messages, slash commands and
// button clicks become chat.Messages; an event Slack delivers again (a
// retry, or the app_mention twin of a message event) is handled once.
//
// Posts are rendered as Block Kit: mrkdwn sections, fields, context links,
// images and buttons, in an attachment coloured by severity. Long text is
// uploaded as a file under a short preview. Threads, edits (chat.update),
// reactions, uploads and private answers to clicks are supported; rate
// limits are kept per method, and a 429 becomes a chat.RateLimitError so
// that the outbox waits for its Retry-After. See docs/adapters/slack.md.
package slack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Name is the adapter's name: the Adapter of its rooms and identities ("slack:U024BE7LH").
const Name = "slack"

// maxPostLen is the largest post text the adapter accepts: longer text is
// uploaded as a file, so this only bounds the size of one file.
const maxPostLen = 1 << 20

// Options are what the adapter takes from the application besides its config.
type Options struct {
	Logger *slog.Logger
	Clock  clock.Clock
	// DB keeps the IDs of the events already handled (table slack_seen,
	// migration 00080), so that a redelivery is handled once across
	// restarts and replicas. Nil keeps them in memory.
	DB *sql.DB
	// BotName is the bot's name in opsbot ("opsbot"): a message that starts
	// with a mention of the bot, and a slash command, reach the engine as
	// addressed to that name.
	BotName string
	// HTTPClient makes the Web API calls (http.DefaultClient by default).
	HTTPClient *http.Client
}

// Adapter is the Slack adapter.
type Adapter struct {
	cfg       Config
	log       *slog.Logger
	clock     clock.Clock
	botName   string
	api       *slack.Client
	limits    *methodLimiter
	seen      seenSet
	dir       *directory
	queue     *queue
	clicks    *clicks
	responses *responseURLs
	channels  map[string]bool // resolved IDs of cfg.Channels; nil: every channel
	http      *http.Client

	running   atomic.Bool
	connected atomic.Bool

	mu   sync.Mutex
	self self
}

// self is who the bot is in Slack (auth.test).
type self struct {
	userID, botID, teamID string
}

var (
	_ chat.Adapter     = (*Adapter)(nil)
	_ chat.Threader    = (*Adapter)(nil)
	_ chat.Editor      = (*Adapter)(nil)
	_ chat.Interactive = (*Adapter)(nil)
	_ chat.Uploader    = (*Adapter)(nil)
	_ chat.Reactor     = (*Adapter)(nil)
	_ chat.Limiter     = (*Adapter)(nil)
	_ chat.Formatter   = (*Adapter)(nil)
	_ chat.RichPoster  = (*Adapter)(nil)
	_ chat.RateLimiter = (*Adapter)(nil)
)

// New checks cfg and returns an adapter; Run connects it.
func New(cfg Config, o Options) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	cfg = cfg.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.BotName == "" {
		o.BotName = "opsbot"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	opts := []slack.Option{slack.OptionHTTPClient(o.HTTPClient)}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken.Reveal()))
	}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	a := &Adapter{
		cfg:       cfg,
		log:       o.Logger.With("adapter", Name, "mode", cfg.Mode),
		clock:     o.Clock,
		botName:   o.BotName,
		api:       slack.New(cfg.BotToken.Reveal(), opts...),
		limits:    newMethodLimiter(o.Clock),
		queue:     newQueue(),
		clicks:    newClicks(),
		responses: newResponseURLs(),
		http:      o.HTTPClient,
	}
	if o.DB != nil {
		a.seen = &sqlSeen{db: o.DB, clock: o.Clock}
	} else {
		a.seen = newMemSeen(o.Clock)
	}
	a.dir = newDirectory(a)
	return a, nil
}

// Name is "slack".
func (a *Adapter) Name() string { return Name }

// Mode is "socket" or "events".
func (a *Adapter) Mode() string { return a.cfg.Mode }

// RendersButtons is true: buttons are Block Kit buttons.
func (a *Adapter) RendersButtons() bool { return true }

// FormatsMarkdown is true: the Markdown subset is rendered as mrkdwn.
func (a *Adapter) FormatsMarkdown() bool { return true }

// RendersRich is true: fields, links, images and severity are Block Kit.
func (a *Adapter) RendersRich() bool { return true }

// MaxPostLen is the largest text a post may have: anything over upload_over
// is uploaded as a file, so this only bounds one file.
func (a *Adapter) MaxPostLen() int { return maxPostLen }

// RateLimits are Slack's posting rule: about one message a second per
// channel (short bursts allowed), and a workspace-wide ceiling.
func (a *Adapter) RateLimits() chat.RateLimits {
	return chat.RateLimits{RoomRate: 1, RoomBurst: 3, AdapterRate: 20, AdapterBurst: 40}
}

// Connected reports whether a Socket Mode connection is up (Slack said
// hello on it); in events mode, whether Run is running.
func (a *Adapter) Connected() bool { return a.connected.Load() }

// Run identifies the bot (auth.test), learns the channels, and delivers
// inbound messages to in until ctx ends: over Socket Mode, reconnecting with
// backoff, or, in events mode, from the requests Handler receives.
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("slack: Run called twice")
	}
	defer a.running.Store(false)
	if err := a.identify(ctx); err != nil {
		return err
	}
	pctx, stop := context.WithCancel(ctx)
	if err := a.resolveChannels(ctx); err != nil {
		a.log.Warn("slack: could not resolve the configured channels; reading every channel until it can", "err", err)
		go a.retryChannels(pctx)
	}
	processed := make(chan struct{})
	go func() { defer close(processed); a.process(pctx, in) }()
	defer func() { stop(); <-processed }()
	if a.cfg.Mode == ModeEvents {
		a.connected.Store(true)
		defer a.connected.Store(false)
		a.log.Info("slack: receiving over the Events API", "routes", "/hooks/slack/{events,interactive,commands}")
		<-ctx.Done()
		return ctx.Err()
	}
	return a.runSocket(ctx)
}

// identify asks Slack who the bot is, retrying with backoff until it
// answers; a refused token ends Run.
func (a *Adapter) identify(ctx context.Context) error {
	backoff := a.cfg.ReconnectMin
	for {
		if err := a.limits.wait(ctx, "auth.test"); err != nil {
			return err
		}
		r, err := a.api.AuthTestContext(ctx)
		if err == nil {
			a.mu.Lock()
			a.self = self{userID: r.UserID, botID: r.BotID, teamID: r.TeamID}
			a.mu.Unlock()
			a.dir.learnUser(r.UserID, a.botName)
			a.log.Info("slack: authenticated", "team", r.Team, "bot_user", r.UserID)
			return nil
		}
		if isAuthError(err) {
			return fmt.Errorf("slack: auth.test: the bot token was refused: %w", err)
		}
		a.log.Warn("slack: auth.test failed", "err", err, "retry_in", backoff.String())
		select {
		case <-a.clock.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, a.cfg.ReconnectMax)
	}
}

// resolveChannels turns the configured channel names into IDs.
func (a *Adapter) resolveChannels(ctx context.Context) error {
	if len(a.cfg.Channels) == 0 {
		return nil
	}
	ids := map[string]bool{}
	for _, c := range a.cfg.Channels {
		id, err := a.dir.channelID(ctx, c)
		if err != nil {
			return fmt.Errorf("channel %s: %w", c, err)
		}
		ids[id] = true
	}
	a.mu.Lock()
	a.channels = ids
	a.mu.Unlock()
	return nil
}

// retryChannels resolves the configured channels again, with backoff,
// until it succeeds or ctx ends.
func (a *Adapter) retryChannels(ctx context.Context) {
	backoff := a.cfg.ReconnectMin
	for {
		select {
		case <-a.clock.After(backoff):
		case <-ctx.Done():
			return
		}
		err := a.resolveChannels(ctx)
		if err == nil {
			a.log.Info("slack: configured channels resolved")
			return
		}
		backoff = min(backoff*2, a.cfg.ReconnectMax)
		a.log.Warn("slack: could not resolve the configured channels", "err", err, "retry_in", backoff.String())
	}
}

// listens reports whether the bot reads channel messages in channel.
func (a *Adapter) listens(channel string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.channels == nil || a.channels[channel]
}

func (a *Adapter) whoami() self {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.self
}
