package xmpp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	goxmpp "github.com/xmppo/go-xmpp"

	"github.com/opsbot/opsbot/chat"
)

// conn is one connection to the server. go-xmpp gives no way to close a
// connection while another goroutine reads it, so a connection the adapter
// gives up on (a ping went unanswered, a write failed) is abandoned: it is
// marked dead, asked to close its stream, and its reader ignores whatever
// still arrives until the socket ends.
type conn struct {
	client *goxmpp.Client
	out    writer // the client, as far as writing goes
	full   string // the bot's full JID on this connection

	wmu sync.Mutex // one stanza written at a time

	once sync.Once
	done chan struct{} // closed when the connection is dead
	err  error         // why, set before done is closed
	read chan struct{} // closed when the reader has returned
}

// dial connects and logs in. go-xmpp's dial takes no context: when ctx ends
// first, the connection is closed once it is made.
func (a *Adapter) dial(ctx context.Context) (*conn, error) {
	opts := goxmpp.Options{
		Host:        a.cfg.Server,
		User:        a.cfg.JID,
		Password:    a.cfg.Password.Reveal(),
		Resource:    a.cfg.Resource,
		DialTimeout: a.cfg.SendTimeout,
		TLSConfig:   a.tls.Clone(),
		NoTLS:       a.cfg.TLS != TLSDirect,
		StartTLS:    a.cfg.TLS == TLSStartTLS,

		InsecureAllowUnencryptedAuth: a.cfg.TLS == TLSPlain,
	}
	type result struct {
		c   *goxmpp.Client
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := opts.NewClient()
		res <- result{c, err}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			return nil, classifyDialError(r.err)
		}
		return &conn{client: r.c, out: r.c, full: r.c.JID(), done: make(chan struct{}), read: make(chan struct{})}, nil
	case <-ctx.Done():
		go func() {
			if r := <-res; r.err == nil {
				_ = r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// classifyDialError marks the errors that retrying will not fix.
func classifyDialError(err error) error {
	msg := err.Error()
	for _, permanent := range []string{"auth failure", "refusing to authenticate", "StartTLS is required", "StartTLS is not supported", "no viable authentication"} {
		if strings.Contains(msg, permanent) {
			return fmt.Errorf("xmpp: log in: %w: %w", chat.ErrPermanent, err)
		}
	}
	return fmt.Errorf("xmpp: connect: %w", err)
}

// send writes one stanza; a failed write kills the connection.
func (c *conn) send(stanza string) error {
	if c.dead() {
		return fmt.Errorf("xmpp: send: %w", c.err)
	}
	c.wmu.Lock()
	_, err := c.out.SendOrg(stanza)
	c.wmu.Unlock()
	if err != nil {
		err = fmt.Errorf("xmpp: send: %w", err)
		c.kill(err)
	}
	return err
}

// sendAsync writes a stanza without waiting for the write (for callers
// holding the adapter's lock); a failure kills the connection.
func (c *conn) sendAsync(stanza string) {
	go func() { _ = c.send(stanza) }()
}

// kill marks the connection dead and asks the server to close the stream.
func (c *conn) kill(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
		go func() {
			c.wmu.Lock()
			defer c.wmu.Unlock()
			_, _ = c.out.SendOrg("</stream:stream>")
		}()
	})
}

func (c *conn) dead() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// writer writes raw XML to the stream (go-xmpp's Client.SendOrg).
type writer interface {
	SendOrg(xml string) (int, error)
}

// errClosed ends a connection when the adapter stops.
var errClosed = errors.New("xmpp: adapter stopped")
