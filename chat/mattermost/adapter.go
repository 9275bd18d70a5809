// Package mattermost is the Mattermost chat adapter: API v4 over REST for
// posts and the WebSocket for events. Posts render Markdown, severity as
// a coloured attachment with fields and links, buttons as interactive
// message actions (when the Mattermost server can reach opsbot's
// ActionPath); replies go in threads (root_id); posts can be edited,
// reacted to, and carry uploaded files. The WebSocket reconnects with
// backoff and resumes its event sequence, so what was said during a short
// break is still delivered.
package mattermost

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Name is the adapter's name in rooms and identities.
const Name = "mattermost"

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

// Adapter is the Mattermost chat adapter. It is safe for concurrent use.
type Adapter struct {
	cfg       Config
	log       *slog.Logger
	http      *http.Client
	clock     clock.Clock
	actionKey []byte
	inbound   chan chat.Message // button clicks and WebSocket messages, in arrival order

	mu        sync.Mutex
	me        user
	teamID    string
	channels  map[string]string // channel name → ID, as resolved
	usernames map[string]string // user ID → username, for mentions
}

// New returns an adapter for cfg (validated; unset settings take their
// defaults). It connects when Run is called.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mattermost: %w", err)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := []byte(cfg.ActionSecret.Reveal())
	if len(key) == 0 {
		m := hmac.New(sha256.New, []byte(cfg.Token.Reveal()))
		m.Write([]byte("opsbot mattermost action secret"))
		key = m.Sum(nil)
	}
	return &Adapter{
		cfg:       cfg,
		log:       log.With("adapter", Name),
		http:      &http.Client{},
		clock:     clock.Real{},
		actionKey: key,
		inbound:   make(chan chat.Message, 256),
		channels:  make(map[string]string),
		usernames: make(map[string]string),
	}, nil
}

// SetClock sets the clock the reconnection backoff waits on; call it before Run.
func (a *Adapter) SetClock(c clock.Clock) { a.clock = c }

// SetHTTPClient sets the client of REST requests and the WebSocket (a
// proxy, a custom CA); call it before Run.
func (a *Adapter) SetHTTPClient(c *http.Client) { a.http = c }

// Name is "mattermost".
func (a *Adapter) Name() string { return Name }

// MaxPostLen is the largest message the adapter sends in one post.
func (a *Adapter) MaxPostLen() int { return a.cfg.MaxPostLen }

// FormatsMarkdown: Mattermost renders Markdown.
func (a *Adapter) FormatsMarkdown() bool { return true }

// RendersRich: severity, fields, links and images go in a message attachment.
func (a *Adapter) RendersRich() bool { return true }

// RendersButtons reports whether buttons are clickable: only when the
// Mattermost server can reach opsbot (action_url is set).
func (a *Adapter) RendersButtons() bool { return a.cfg.ActionURL != "" }

// RateLimits are Mattermost's default API limits (RateLimitSettings:
// 10 requests a second, bursts of 100, per token); a server may set others,
// and a 429 makes the outbox wait as long as the server says.
func (a *Adapter) RateLimits() chat.RateLimits {
	return chat.RateLimits{AdapterRate: 10, AdapterBurst: 100}
}

// Routes are the HTTP routes the adapter needs on opsbot's listener: the
// button clicks, when action_url is set.
func (a *Adapter) Routes() map[string]http.Handler {
	if a.cfg.ActionURL == "" {
		return nil
	}
	return map[string]http.Handler{"POST " + ActionPath: a.ActionHandler()}
}

// botUser returns the bot's own user, asking the server the first time.
func (a *Adapter) botUser(ctx context.Context) (user, error) {
	a.mu.Lock()
	me := a.me
	a.mu.Unlock()
	if me.ID != "" {
		return me, nil
	}
	if err := a.call(ctx, http.MethodGet, "/users/me", nil, &me); err != nil {
		return user{}, err
	}
	a.mu.Lock()
	a.me = me
	a.mu.Unlock()
	return me, nil
}

// channelID resolves a room ID: a channel ID as is, a channel name
// ("ops", "~ops") through the configured team.
func (a *Adapter) channelID(ctx context.Context, room string) (string, error) {
	if isID(room) {
		return room, nil
	}
	name := strings.ToLower(strings.TrimPrefix(room, "~"))
	a.mu.Lock()
	id, ok := a.channels[name]
	teamID := a.teamID
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	if a.cfg.Team == "" {
		return "", fmt.Errorf("mattermost: %w: %q is a channel name and no team is configured", chat.ErrPermanent, room)
	}
	if teamID == "" {
		var t team
		if err := a.call(ctx, http.MethodGet, "/teams/name/"+url.PathEscape(a.cfg.Team), nil, &t); err != nil {
			return "", fmt.Errorf("team %q: %w", a.cfg.Team, err)
		}
		teamID = t.ID
	}
	var ch channel
	if err := a.call(ctx, http.MethodGet, "/teams/"+teamID+"/channels/name/"+url.PathEscape(name), nil, &ch); err != nil {
		return "", fmt.Errorf("channel %q: %w", room, err)
	}
	a.mu.Lock()
	a.teamID = teamID
	a.channels[name] = ch.ID
	a.mu.Unlock()
	return ch.ID, nil
}

// joinChannels makes the bot a member of the configured channels (an
// error names the first that failed; the others are still tried).
func (a *Adapter) joinChannels(ctx context.Context, me user) error {
	var errs []error
	for _, name := range a.cfg.Channels {
		id, err := a.channelID(ctx, name)
		if err == nil {
			err = a.call(ctx, http.MethodPost, "/channels/"+id+"/members", map[string]string{"user_id": me.ID}, nil)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("join %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
