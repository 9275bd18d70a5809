// Package irc is the IRC chat adapter, on github.com/lrstanley/girc.
//
// It connects over TLS or plain text, authenticates with SASL (PLAIN or
// EXTERNAL) or NickServ, joins its channels (with keys), takes an alternate
// nick when its own is taken, reconnects with backoff and rejoins. Posts are
// rendered with mIRC formatting, cut to the 512-byte line limit, sent one
// line at a time through a token bucket, and confirmed by a PING the server
// answers once it has processed them. IRC has no threads, buttons or edits:
// chat.Sender's fallbacks apply. See docs/adapters/irc.md.
package irc

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrstanley/girc"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Name is the adapter's name: the Adapter of its rooms and identities ("irc:alice").
const Name = "irc"

// dialTimeout bounds the TCP connect and the TLS handshake.
const dialTimeout = 20 * time.Second

// quitWait is how long Run waits for the server to close the link after QUIT.
const quitWait = 2 * time.Second

// Adapter is the IRC adapter.
type Adapter struct {
	cfg     Config
	log     *slog.Logger
	clock   clock.Clock
	bucket  *Bucket
	masks   *masks
	client  *girc.Client
	tlsConf *tls.Config
	ids     *ids

	running atomic.Bool
	inbox   *inbox

	mu      sync.Mutex
	sess    *session          // the connection in progress; nil between connections
	changed chan struct{}     // closed and renewed whenever sess or its state changes
	extra   map[string]string // channels joined on demand (folded → name), rejoined after reconnects
}

var (
	_ chat.Adapter   = (*Adapter)(nil)
	_ chat.Formatter = (*Adapter)(nil)
)

// New checks cfg and returns an adapter; Run connects it.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("irc: %w", err)
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMasks(cfg.TrustedMasks)
	if err != nil {
		return nil, fmt.Errorf("irc: %w", err)
	}
	host, port, err := splitServer(cfg.Server, cfg.TLS.Enabled)
	if err != nil {
		return nil, fmt.Errorf("irc: server: %w", err)
	}
	a := &Adapter{
		cfg:     cfg,
		log:     log.With("adapter", Name, "server", net.JoinHostPort(host, strconv.Itoa(port))),
		clock:   clock.Real{},
		masks:   m,
		ids:     newIDs(),
		changed: make(chan struct{}),
		extra:   map[string]string{},
	}
	a.bucket = NewBucket(a.clock, cfg.Flood.Rate, cfg.Flood.Burst)
	if cfg.TLS.Enabled {
		if a.tlsConf, err = tlsConfig(cfg.TLS, host); err != nil {
			return nil, fmt.Errorf("irc: tls: %w", err)
		}
	}
	gc := girc.Config{
		Server:            host,
		Port:              port,
		ServerPass:        cfg.ServerPassword.Reveal(),
		Nick:              cfg.Nick,
		User:              cfg.User,
		Name:              cfg.RealName,
		DisableSTS:        true,
		AllowFlood:        true, // the adapter's own Bucket paces what it sends
		PingDelay:         cfg.PingInterval,
		PingTimeout:       cfg.PingTimeout,
		HandleNickCollide: a.nextNick,
		RecoverFunc: func(_ *girc.Client, e *girc.HandlerError) {
			a.log.Error("irc: handler panic", "error", e.Error())
		},
		Version: "opsbot",
	}
	switch cfg.SASL.Mechanism {
	case "plain", "PLAIN":
		gc.SASL = &girc.SASLPlain{User: cfg.SASL.User, Pass: cfg.SASL.Password.Reveal()}
	case "external", "EXTERNAL":
		gc.SASL = &girc.SASLExternal{}
	}
	a.client = girc.New(gc)
	a.register()
	return a, nil
}

// SetClock sets the clock of the flood control, the reconnect backoff and
// the rejoin timer. Call it before Run.
func (a *Adapter) SetClock(c clock.Clock) {
	a.clock = c
	a.bucket = NewBucket(c, a.cfg.Flood.Rate, a.cfg.Flood.Burst)
}

// Name is "irc".
func (a *Adapter) Name() string { return Name }

// SingleConnection: one replica at a time connects (one nick per network);
// with several replicas the connection is held under a lease (docs/replicas.md).
func (a *Adapter) SingleConnection() bool { return true }

// FormatsMarkdown reports whether posts are rendered with IRC formatting
// (format: irc) rather than as plain text.
func (a *Adapter) FormatsMarkdown() bool { return a.cfg.Format == "irc" }

// Nick is the nickname the bot has on the current connection ("" between connections).
func (a *Adapter) Nick() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess == nil {
		return ""
	}
	return a.sess.nick
}

// Connected reports whether the bot is registered on the server (its
// channels may still be joining).
func (a *Adapter) Connected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sess != nil && a.sess.registered
}

// Run connects and delivers inbound messages to in until ctx ends,
// reconnecting with backoff (reconnect_min doubling up to reconnect_max,
// back to reconnect_min after a connection that registered).
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("irc: Run called twice")
	}
	defer a.running.Store(false)
	a.inbox = newInbox(a.log)
	pumped := make(chan struct{})
	go func() { defer close(pumped); a.inbox.pump(ctx, in) }()
	defer func() { <-pumped }()

	backoff := a.cfg.ReconnectMin
	for attempt := 1; ; attempt++ {
		s := a.startSession(ctx)
		a.log.Info("irc: connecting", "attempt", attempt, "nick", a.cfg.Nick, "tls", a.cfg.TLS.Enabled)
		errc := make(chan error, 1)
		go func() { errc <- a.client.DialerConnect(dialer{ctx: ctx, tls: a.tlsConf}) }()
		var err error
		select {
		case err = <-errc:
		case <-ctx.Done():
			a.quit(errc)
			a.endSession(s)
			return ctx.Err()
		}
		registered := a.endSession(s)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if registered {
			backoff = a.cfg.ReconnectMin
		}
		a.log.Warn("irc: disconnected", "error", errText(err), "retry_in", backoff.String())
		select {
		case <-a.clock.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		if !registered {
			backoff = min(backoff*2, a.cfg.ReconnectMax)
		}
	}
}

// quit says goodbye and waits for the connection to end.
func (a *Adapter) quit(errc <-chan error) {
	a.client.Quit("opsbot shutting down")
	select {
	case <-errc:
		return
	case <-time.After(quitWait):
	}
	a.client.Close()
	select {
	case <-errc:
	case <-time.After(quitWait):
		a.log.Warn("irc: the connection did not close")
	}
}

func errText(err error) string {
	if err == nil {
		return "connection closed"
	}
	return err.Error()
}

// dialer connects girc to the server, with TLS done here so that a bad
// certificate is reported as such, and with ctx so that shutting down
// interrupts a connect in progress.
type dialer struct {
	ctx context.Context
	tls *tls.Config
}

func (d dialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(d.ctx, dialTimeout)
	defer cancel()
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if d.tls == nil {
		return conn, nil
	}
	tc := tls.Client(conn, d.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}

func tlsConfig(c TLSConfig, host string) (*tls.Config, error) {
	conf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // only when configured, for tests
	if c.ServerName != "" {
		conf.ServerName = c.ServerName
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", c.CAFile)
		}
		conf.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// ids makes the IDs IRC does not have: for posts, and for messages that
// arrive without a msgid tag. A random prefix keeps them unique across
// restarts.
type ids struct {
	prefix string
	n      atomic.Uint64
}

func newIDs() *ids {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &ids{prefix: hex.EncodeToString(b[:])}
}

func (i *ids) next(kind string) string {
	return kind + ":" + i.prefix + "-" + strconv.FormatUint(i.n.Add(1), 10)
}
