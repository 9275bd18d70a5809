// Package xmpp is the XMPP chat adapter (github.com/xmppo/go-xmpp): a client
// login, MUC rooms (nick, password, nick conflicts), direct messages, XEP-0308
// corrections for edits where every reader supports them, a keepalive ping
// and reconnection with backoff that rejoins the rooms.
//
// Posts are plain text: the chat.Sender renders Markdown plain, marks the
// severity with a text prefix, numbers buttons and prefixes thread keys.
package xmpp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Name is the adapter's name in rooms and identities.
const Name = "xmpp"

// GuestPrefix starts the identity ID of a room occupant whose real JID the
// room hides: "muc:ops@conference.example.org/nick". No JID starts so (":"
// is not allowed in a JID's local part or domain), so such a guest can never
// pass for a linked account.
const GuestPrefix = "muc:"

var (
	_ chat.Adapter = (*Adapter)(nil)
	_ chat.Editor  = (*Adapter)(nil)
	_ chat.Limiter = (*Adapter)(nil)
)

// Adapter is the XMPP chat adapter. It is safe for concurrent use.
type Adapter struct {
	cfg   Config
	log   *slog.Logger
	tls   *tls.Config
	clock clock.Clock
	me    string // the bot's bare JID, normalised

	mu         sync.Mutex
	conn       *conn         // the live connection, nil while disconnected
	changed    chan struct{} // closed and renewed at every change of conn or a room
	rooms      map[string]*room
	mucDomains map[string]bool
	waiters    map[string]*waiter       // message id → who waits for its acknowledgement
	iqs        map[string]chan iqResult // iq id → its answer
	own        *ring                    // ids of messages the bot sent
	alias      *aliases                 // post id → the post that replaced it
	lastSent   map[string]string        // room → id of the bot's last message there
	peers      map[string]bool          // full JID → supports corrections (known answers only)
	dmPeers    map[string]string        // bare JID → the full JID last heard from
	postLocks  map[string]chan struct{} // room → one post at a time

	inbox   []chat.Message
	inboxCh chan struct{}
}

// New returns an adapter for cfg (validated; unset settings take their
// defaults). It connects when Run is called.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("xmpp: %w", err)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{
		cfg:        cfg,
		log:        log.With("adapter", Name, "jid", cfg.JID),
		clock:      clock.Real{},
		me:         normBare(cfg.JID),
		changed:    make(chan struct{}),
		rooms:      make(map[string]*room),
		mucDomains: make(map[string]bool),
		waiters:    make(map[string]*waiter),
		iqs:        make(map[string]chan iqResult),
		own:        newRing(4096),
		alias:      newAliases(4096),
		lastSent:   make(map[string]string),
		peers:      make(map[string]bool),
		dmPeers:    make(map[string]string),
		postLocks:  make(map[string]chan struct{}),
		inboxCh:    make(chan struct{}, 1),
	}
	a.tls = &tls.Config{ServerName: domain(cfg.JID), InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("xmpp: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("xmpp: ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		a.tls.RootCAs = pool
	}
	if cfg.TLS == TLSPlain {
		a.log.Warn("xmpp: tls is plain: the password and every message cross the network in clear")
	}
	for _, rc := range cfg.Rooms {
		a.addRoom(rc)
	}
	return a, nil
}

// SetClock sets the clock the reconnection backoff waits on; call it before Run.
func (a *Adapter) SetClock(c clock.Clock) { a.clock = c }

// Name is "xmpp".
func (a *Adapter) Name() string { return Name }

// SingleConnection: one replica at a time connects (one MUC nick per room);
// with several replicas the connection is held under a lease (docs/replicas.md).
func (a *Adapter) SingleConnection() bool { return true }

// MaxPostLen is the largest body the adapter sends in one message.
func (a *Adapter) MaxPostLen() int { return a.cfg.MaxPostLen }

// notify wakes everyone waiting for a change; a.mu must be held.
func (a *Adapter) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// waitFor waits until ready (called with a.mu held) returns true or an
// error, or ctx ends.
func (a *Adapter) waitFor(ctx context.Context, ready func() (bool, error)) error {
	for {
		a.mu.Lock()
		ok, err := ready()
		ch := a.changed
		a.mu.Unlock()
		if ok || err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// errNotConnected is returned while no connection is up.
var errNotConnected = errors.New("xmpp: not connected")

// ring remembers the last n strings added.
type ring struct {
	set   map[string]bool
	order []string
	n     int
}

func newRing(n int) *ring { return &ring{set: make(map[string]bool), n: n} }

func (r *ring) add(s string) {
	if r.set[s] {
		return
	}
	r.set[s] = true
	r.order = append(r.order, s)
	if len(r.order) > r.n {
		delete(r.set, r.order[0])
		r.order = r.order[1:]
	}
}

func (r *ring) has(s string) bool { return r.set[s] }

// aliases maps the id of a post that could not be corrected to the new post
// that stands for it, bounded.
type aliases struct {
	m     map[string]string
	order []string
	n     int
}

func newAliases(n int) *aliases { return &aliases{m: make(map[string]string), n: n} }

func (al *aliases) set(from, to string) {
	if _, ok := al.m[from]; !ok {
		al.order = append(al.order, from)
	}
	al.m[from] = to
	if len(al.order) > al.n {
		delete(al.m, al.order[0])
		al.order = al.order[1:]
	}
}

func (al *aliases) get(id string) string {
	if to, ok := al.m[id]; ok {
		return to
	}
	return id
}
