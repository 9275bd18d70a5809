// Package discord is the Discord chat adapter (github.com/bwmarrin/discordgo):
// the gateway for inbound messages, button clicks and one slash command, and
// the REST API for posts, edits, threads, uploads and reactions.
//
// Posts use Discord's Markdown; severity, fields, links and images go in an
// embed (coloured by severity); buttons are message components whose clicks
// arrive as chat.Message with Action set. A 429 becomes a
// chat.RateLimitError so that the outbox waits as Discord asks.
package discord

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Name is the adapter's name in rooms and identities.
const Name = "discord"

// MaxContentLen is the most a message's content may hold (Discord counts
// characters; a limit in bytes is always within it).
const MaxContentLen = 2000

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

// Adapter is the Discord chat adapter. It is safe for concurrent use.
type Adapter struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	s     *discordgo.Session
	down  chan struct{} // a gateway connection ended

	mu        sync.Mutex
	self      *discordgo.User
	appID     string
	channels  map[string]channelInfo
	values    *values // button values too long for a custom_id
	inbox     []item
	inboxCh   chan struct{}
	commanded bool // the slash command is registered
	warned    bool // the missing-content warning was logged
}

// channelInfo is what the adapter knows of a channel.
type channelInfo struct {
	name    string
	kind    discordgo.ChannelType
	parent  string // a thread's channel
	guildID string
}

func (c channelInfo) thread() bool {
	switch c.kind {
	case discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread, discordgo.ChannelTypeGuildNewsThread:
		return true
	}
	return false
}

// New returns an adapter for cfg (validated; unset settings take their
// defaults). It connects when Run is called.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := discordgo.New("Bot " + cfg.Token.Reveal())
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	// The adapter reconnects and waits out rate limits itself (on its clock,
	// through the outbox); handlers run in order on the gateway's reader.
	s.ShouldReconnectOnError = false
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	s.SyncEvents = true
	s.StateEnabled = false
	s.LogLevel = -1
	s.Client = &http.Client{Timeout: cfg.PostTimeout}
	s.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 15 * time.Second}
	s.UserAgent = "DiscordBot (https://github.com/opsbot/opsbot, 1) opsbot"
	intents := discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages
	if *cfg.MessageContent {
		intents |= discordgo.IntentMessageContent
	}
	s.Identify.Intents = intents
	a := &Adapter{
		cfg:      cfg,
		log:      log.With("adapter", Name),
		clock:    clock.Real{},
		s:        s,
		down:     make(chan struct{}, 1),
		channels: make(map[string]channelInfo),
		values:   newValues(4096),
		inboxCh:  make(chan struct{}, 1),
	}
	if cfg.APIURL != "" {
		base, _ := url.Parse(cfg.APIURL)
		s.Client.Transport = redirect{to: base, next: http.DefaultTransport}
	}
	s.AddHandler(a.onReady)
	s.AddHandler(a.onGuildCreate)
	s.AddHandler(a.onThreadCreate)
	s.AddHandler(a.onMessageCreate)
	s.AddHandler(a.onInteraction)
	s.AddHandler(a.onDisconnect)
	return a, nil
}

// SetClock sets the clock the reconnection backoff waits on; call it before Run.
func (a *Adapter) SetClock(c clock.Clock) { a.clock = c }

// SetHTTPClient sets the client of REST calls and gateway discovery (a
// proxy, or a test server); call it before Run. Its Timeout, if zero,
// becomes post_timeout.
func (a *Adapter) SetHTTPClient(c *http.Client) {
	if c.Timeout == 0 {
		c.Timeout = a.cfg.PostTimeout
	}
	a.s.Client = c
}

// redirect sends every request to another scheme and host, path kept.
type redirect struct {
	to   *url.URL
	next http.RoundTripper
}

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.to.Scheme, r.to.Host, r.to.Host
	return r.next.RoundTrip(req)
}

// Name is "discord".
func (a *Adapter) Name() string { return Name }

// SingleConnection: with several replicas, one holds the gateway session
// (under a lease; docs/replicas.md), so each event arrives once.
func (a *Adapter) SingleConnection() bool { return true }

// MaxPostLen is the most text one message carries.
func (a *Adapter) MaxPostLen() int { return MaxContentLen }

// FormatsMarkdown is true: the adapter renders posts in Discord's Markdown.
func (a *Adapter) FormatsMarkdown() bool { return true }

// RendersRich is true: severity, fields, links and images go in an embed.
func (a *Adapter) RendersRich() bool { return true }

// RendersButtons is true: buttons are message components.
func (a *Adapter) RendersButtons() bool { return true }

// RateLimits are Discord's documented limits for bots: 5 messages per 5
// seconds per channel, 50 requests per second overall.
func (a *Adapter) RateLimits() chat.RateLimits {
	return chat.RateLimits{RoomRate: 1, RoomBurst: 5, AdapterRate: 50, AdapterBurst: 50}
}

// room is the chat room of a channel.
func (a *Adapter) room(id string, info channelInfo) chat.Room {
	r := chat.Room{Adapter: Name, ID: id}
	if info.name != "" {
		r.Name = "#" + info.name
	}
	return r
}

// allowed reports whether messages of channel (a thread's parent for a
// thread) reach the bot.
func (a *Adapter) allowed(channel string, direct bool) bool {
	if direct || len(a.cfg.Channels) == 0 {
		return true
	}
	for _, c := range a.cfg.Channels {
		if c == channel {
			return true
		}
	}
	return false
}

// values keeps button values too long for a custom_id, bounded.
type values struct {
	m     map[string]string
	order []string
	n     int
	next  int
}

func newValues(n int) *values { return &values{m: make(map[string]string), n: n} }

func (v *values) put(value string) string {
	v.next++
	key := fmt.Sprintf("%x", v.next)
	v.m[key] = value
	v.order = append(v.order, key)
	if len(v.order) > v.n {
		delete(v.m, v.order[0])
		v.order = v.order[1:]
	}
	return key
}

func (v *values) get(key string) (string, bool) {
	s, ok := v.m[key]
	return s, ok
}

// customID encodes a button: "ID|value", or "ID|#key" when the value is too
// long for Discord's 100 characters (kept in memory: such a click resolves
// only on the replica that posted it, until restart).
func (a *Adapter) customID(b chat.Button) string {
	id := strings.ReplaceAll(b.ID, "|", "")
	if len(id) > 40 {
		id = id[:40]
	}
	if len(id)+1+len(b.Value) <= 100 && !strings.HasPrefix(b.Value, "#") {
		return id + "|" + b.Value
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return id + "|#" + a.values.put(b.Value)
}

// action decodes a custom_id.
func (a *Adapter) action(customID string) (chat.Action, bool) {
	id, value, ok := strings.Cut(customID, "|")
	if !ok {
		return chat.Action{}, false
	}
	if key, long := strings.CutPrefix(value, "#"); long {
		a.mu.Lock()
		v, ok := a.values.get(key)
		a.mu.Unlock()
		if !ok {
			return chat.Action{}, false
		}
		value = v
	}
	return chat.Action{ID: id, Value: value}, true
}
