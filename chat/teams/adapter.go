// Package teams is the Microsoft Teams chat adapter, a Bot Framework bot:
// Teams POSTs activities to the bot's messaging endpoint (MessagesPath on
// opsbot's listener) with a bearer token the adapter verifies against the
// Bot Framework's published signing keys (issuer, audience = the app ID,
// lifetime, the activity's serviceUrl, the channel's endorsement); posts go
// to the Bot Connector REST API with an OAuth client-credentials token.
// Rich posts are Adaptive Cards (severity as a coloured container, fields
// as facts, links as buttons, buttons as Action.Submit), replies go in
// channel threads, and posts can be edited. Teams has no API for a bot to
// react to a message or to upload a file to a channel, so neither is offered.
//
// Without a bot, a team's outgoing webhooks reach the same endpoint signed
// with HMAC and are answered in the HTTP response (outgoing.go), and
// channels' incoming webhooks take posts (webhook.go).
package teams

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Name is the adapter's name in rooms and identities.
const Name = "teams"

var (
	_ chat.Adapter     = (*Adapter)(nil)
	_ chat.Threader    = (*Adapter)(nil)
	_ chat.Editor      = (*Adapter)(nil)
	_ chat.Interactive = (*Adapter)(nil)
	_ chat.Limiter     = (*Adapter)(nil)
	_ chat.Formatter   = (*Adapter)(nil)
	_ chat.RichPoster  = (*Adapter)(nil)
	_ chat.RateLimiter = (*Adapter)(nil)
)

// maxRemembered bounds the conversations and names the adapter remembers.
const maxRemembered = 10000

// Adapter is the Teams chat adapter. It is safe for concurrent use.
type Adapter struct {
	cfg      Config
	log      *slog.Logger
	http     *http.Client
	verifier *verifier
	tokens   *tokenSource
	out      *outgoing
	inbound  chan chat.Message

	mu    sync.Mutex
	convs map[string]conversation // base conversation ID → what an activity told of it
	names map[string]string       // user ID → display name, for mentions
}

// conversation is what the adapter learnt of a conversation from its activities.
type conversation struct {
	serviceURL string
	kind       string // personal, groupChat, channel
}

// New returns an adapter for cfg (validated; unset settings take their defaults).
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := &http.Client{}
	a := &Adapter{
		cfg:     cfg,
		log:     log.With("adapter", Name, "app_id", cfg.AppID),
		http:    client,
		inbound: make(chan chat.Message, 256),
		convs:   make(map[string]conversation),
		names:   make(map[string]string),
		out:     newOutgoing(cfg),
	}
	a.verifier = &verifier{http: client, metadataURL: cfg.OpenIDMetadataURL, issuer: cfg.Issuer, audience: cfg.AppID,
		refresh: cfg.KeyRefresh, timeout: cfg.RequestTimeout, clock: clock.Real{}}
	a.tokens = &tokenSource{http: client, url: cfg.TokenURL, clientID: cfg.AppID, secret: cfg.AppPassword,
		scope: cfg.Scope, timeout: cfg.RequestTimeout, clock: clock.Real{}}
	return a, nil
}

// SetClock sets the clock token lifetimes and key refreshes are measured
// on; call it before Run.
func (a *Adapter) SetClock(c clock.Clock) {
	a.verifier.mu.Lock()
	a.verifier.clock = c
	a.verifier.mu.Unlock()
	a.tokens.mu.Lock()
	a.tokens.clock = c
	a.tokens.mu.Unlock()
	a.out.mu.Lock()
	a.out.clock = c
	a.out.mu.Unlock()
}

// SetHTTPClient sets the client for the connector, the login and the key
// fetches (a proxy, a custom CA); call it before Run.
func (a *Adapter) SetHTTPClient(c *http.Client) {
	a.http, a.verifier.http, a.tokens.http = c, c, c
}

// Name is "teams".
func (a *Adapter) Name() string { return Name }

// MaxPostLen is the largest text the adapter sends in one post.
func (a *Adapter) MaxPostLen() int { return a.cfg.MaxPostLen }

// FormatsMarkdown: Teams renders Markdown in messages and card text.
func (a *Adapter) FormatsMarkdown() bool { return true }

// RendersRich: severity, fields, links and images go in an Adaptive Card.
func (a *Adapter) RendersRich() bool { return true }

// RendersButtons: buttons are Adaptive Card Action.Submit buttons.
func (a *Adapter) RendersButtons() bool { return true }

// RateLimits are Teams' published bot limits: per conversation 7 messages a
// second and 60 in 30 seconds; per app and tenant 50 requests a second.
func (a *Adapter) RateLimits() chat.RateLimits {
	return chat.RateLimits{RoomRate: 2, RoomBurst: 7, AdapterRate: 50, AdapterBurst: 50}
}

// Routes are the HTTP routes the adapter needs on opsbot's listener: the
// bot's messaging endpoint, which also takes the requests of outgoing
// webhooks (none when only incoming webhooks are configured).
func (a *Adapter) Routes() map[string]http.Handler {
	if !a.isBot() && !a.out.enabled() {
		return nil
	}
	return map[string]http.Handler{"POST " + MessagesPath: a.hooksHandler()}
}

// isBot reports whether a bot is configured, rather than only webhooks.
func (a *Adapter) isBot() bool { return a.cfg.AppID != "" }

// Run delivers the activities the messaging endpoint accepts until ctx
// ends. Teams has no connection to keep: it fetches the signing keys once
// up front so that the first request is not slowed by it. With only
// webhooks configured, nothing comes in.
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	if a.isBot() {
		go func() {
			if err := a.verifier.prefetch(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("teams: fetching the signing keys", "err", err)
			}
		}()
	}
	for {
		select {
		case m := <-a.inbound:
			select {
			case in <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// remember records what an authenticated activity told of its conversation and sender.
func (a *Adapter) remember(base, serviceURL, kind, userID, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.convs) >= maxRemembered {
		clear(a.convs)
	}
	if len(a.names) >= maxRemembered {
		clear(a.names)
	}
	c := a.convs[base]
	c.serviceURL = serviceURL
	if kind != "" {
		c.kind = kind
	}
	a.convs[base] = c
	if userID != "" && name != "" {
		a.names[userID] = name
	}
}

// conversation returns what is known of a conversation, with the default service URL.
func (a *Adapter) conversation(base string) conversation {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.convs[base]
	if c.serviceURL == "" {
		c.serviceURL = a.cfg.ServiceURL
	}
	return c
}

// splitConversation cuts a conversation ID into the conversation and the
// thread root ("19:x@thread.tacv2;messageid=1700000000000").
func splitConversation(id string) (base, root string) {
	base, root, _ = strings.Cut(id, ";messageid=")
	return base, root
}
