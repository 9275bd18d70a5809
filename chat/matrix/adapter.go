// Package matrix is the Matrix chat adapter, on the client-server API over
// net/http: /sync long-polling for inbound messages, rooms joined by ID or
// alias (and invitations, when auto_join is on), posts with HTML formatted
// bodies, threads (m.thread), edits (m.replace), reactions (m.annotation)
// and media uploads. Rooms must be unencrypted: the adapter does not speak
// end-to-end encryption.
//
// Matrix has no buttons: the chat.Sender numbers them, and the reply "1"
// answers. A 429 M_LIMIT_EXCEEDED becomes a chat.RateLimitError with the
// homeserver's retry_after_ms, so the outbox waits as asked.
package matrix

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Name is the adapter's name in rooms and identities.
const Name = "matrix"

var (
	_ chat.Adapter     = (*Adapter)(nil)
	_ chat.Threader    = (*Adapter)(nil)
	_ chat.Editor      = (*Adapter)(nil)
	_ chat.Uploader    = (*Adapter)(nil)
	_ chat.Reactor     = (*Adapter)(nil)
	_ chat.Limiter     = (*Adapter)(nil)
	_ chat.Formatter   = (*Adapter)(nil)
	_ chat.RichPoster  = (*Adapter)(nil)
	_ chat.RateLimiter = (*Adapter)(nil)
)

// Adapter is the Matrix chat adapter. It is safe for concurrent use.
type Adapter struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	http  *http.Client
	txnID string // prefix of this process's transaction IDs
	txnN  atomic.Int64

	loginMu sync.Mutex // one login at a time

	mu      sync.Mutex
	token   string
	rooms   map[string]*roomState
	aliases map[string]string // #alias:server → room ID
	threads map[string]string // thread root → the latest event the bot posted in it
}

// roomState is what the adapter knows of a room.
type roomState struct {
	name, alias string
	direct      bool
	joined      bool
	names       map[string]string // user ID → display name
}

// New returns an adapter for cfg (validated; unset settings take their
// defaults). It connects when Run is called.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("matrix: %w", err)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	a := &Adapter{
		cfg:     cfg,
		log:     log.With("adapter", Name, "user_id", cfg.UserID),
		clock:   clock.Real{},
		http:    &http.Client{},
		txnID:   "ob" + hex.EncodeToString(b[:]),
		token:   cfg.AccessToken.Reveal(),
		rooms:   make(map[string]*roomState),
		aliases: make(map[string]string),
		threads: make(map[string]string),
	}
	return a, nil
}

// SetClock sets the clock the reconnection backoff waits on; call it before Run.
func (a *Adapter) SetClock(c clock.Clock) { a.clock = c }

// SetHTTPClient sets the HTTP client (a proxy, custom TLS); call it before
// Run. Calls are bounded by sync_timeout and post_timeout, not by its Timeout.
func (a *Adapter) SetHTTPClient(c *http.Client) { a.http = c }

// Name is "matrix".
func (a *Adapter) Name() string { return Name }

// MaxPostLen is the largest post text in bytes.
func (a *Adapter) MaxPostLen() int { return a.cfg.MaxPostLen }

// FormatsMarkdown is true: posts carry an HTML formatted body.
func (a *Adapter) FormatsMarkdown() bool { return true }

// RendersRich is true: the adapter renders severity, fields, links and images.
func (a *Adapter) RendersRich() bool { return true }

// RateLimits keep under Synapse's default message limit for a user (burst
// 10, then 0.2 a second) only loosely: 1 a second after a burst of 10; the
// homeserver's 429s are honoured either way. Exempt the bot on Synapse with
// the admin API's override_ratelimit to post faster.
func (a *Adapter) RateLimits() chat.RateLimits {
	return chat.RateLimits{AdapterRate: 1, AdapterBurst: 10}
}

// newTxnID is a transaction ID unique to this process.
func (a *Adapter) newTxnID() string {
	return fmt.Sprintf("%s-%d", a.txnID, a.txnN.Add(1))
}

// room returns (creating) the state of room id; a.mu must be held.
func (a *Adapter) room(id string) *roomState {
	r, ok := a.rooms[id]
	if !ok {
		r = &roomState{names: make(map[string]string)}
		a.rooms[id] = r
	}
	return r
}

// chatRoom is room id as a chat.Room.
func (a *Adapter) chatRoom(id string) chat.Room {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := chat.Room{Adapter: Name, ID: id}
	if st, ok := a.rooms[id]; ok {
		r.Name = st.alias
		if r.Name == "" {
			r.Name = st.name
		}
	}
	return r
}
