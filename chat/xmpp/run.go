package xmpp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// Run connects, joins the rooms and delivers inbound messages until ctx
// ends, reconnecting with backoff (and rejoining) whenever the connection
// breaks. It returns early only on a permanent error (the server refused the
// login).
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.deliver(ctx, in)
	for attempt := 0; ; {
		up, err := a.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, chat.ErrPermanent) {
			a.log.Error("xmpp: giving up", "err", err)
			return err
		}
		if up {
			attempt = 0
		}
		attempt++
		wait := backoff(attempt, a.cfg.ReconnectMin, a.cfg.ReconnectMax)
		a.log.Warn("xmpp: connection lost; reconnecting", "err", err, "in", wait)
		select {
		case <-a.clock.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// backoff is the wait before the nth attempt in a row: min doubled each
// time up to max, less up to a fifth at random so that replicas spread out.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = time.Duration(float64(min(d, hi)) * (1 - rand.Float64()/5))
	return max(lo, d)
}

// session runs one connection: log in, announce presence, join the rooms,
// ping the server, and return when the connection dies or ctx ends. up says
// whether the login succeeded.
func (a *Adapter) session(ctx context.Context) (up bool, err error) {
	c, err := a.dial(ctx)
	if err != nil {
		return false, err
	}
	go a.readLoop(c)
	a.log.Info("xmpp: connected", "full_jid", c.full, "encrypted", c.client.IsEncrypted())
	if err := c.send("<presence/>"); err != nil {
		return true, err
	}
	a.mu.Lock()
	a.conn = c
	for _, r := range a.rooms {
		r.nick, r.tries = r.baseNick, 0
		a.join(c, r)
	}
	a.notify()
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.conn == c {
			a.conn = nil
			for _, r := range a.rooms {
				r.joined = false
			}
			a.notify()
		}
		a.mu.Unlock()
	}()

	ping := time.NewTicker(a.cfg.PingInterval)
	defer ping.Stop()
	retry := time.NewTicker(a.cfg.ReconnectMax)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			c.kill(errClosed)
			select { // let the server close the stream, briefly
			case <-c.read:
			case <-time.After(time.Second):
			}
			return true, ctx.Err()
		case <-c.done:
			return true, c.err
		case <-ping.C:
			go a.keepalive(c)
		case <-retry.C:
			a.rejoinRefused(c)
		}
	}
}

// keepalive pings the server; no answer within the ping timeout kills the connection.
func (a *Adapter) keepalive(c *conn) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.PingTimeout)
	defer cancel()
	if _, err := a.query(ctx, c, pingStanza, domain(a.cfg.JID)); err != nil && !c.dead() {
		c.kill(fmt.Errorf("xmpp: keepalive ping: %w", err))
	}
}

// rejoinRefused tries again, now and then, the rooms that refused the bot
// or never answered its join.
func (a *Adapter) rejoinRefused(c *conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.rooms {
		if a.conn == c && (r.failed != nil || (!r.joined && time.Since(r.asked) > joinTimeout)) {
			r.nick, r.tries = r.baseNick, 0
			a.join(c, r)
		}
	}
}

// readLoop hands every stanza of c to handle until the connection ends.
func (a *Adapter) readLoop(c *conn) {
	defer close(c.read)
	for {
		st, err := c.client.Recv()
		if err != nil {
			c.kill(fmt.Errorf("xmpp: read: %w", err))
			return
		}
		if c.dead() {
			continue
		}
		a.handle(c, st)
	}
}

// enqueue queues an inbound message for delivery, so that reading the
// connection never waits for the bot.
func (a *Adapter) enqueue(m chat.Message) {
	a.mu.Lock()
	a.inbox = append(a.inbox, m)
	a.mu.Unlock()
	select {
	case a.inboxCh <- struct{}{}:
	default:
	}
}

// deliver passes queued messages to in, in order, until ctx ends.
func (a *Adapter) deliver(ctx context.Context, in chan<- chat.Message) {
	for {
		a.mu.Lock()
		batch := a.inbox
		a.inbox = nil
		a.mu.Unlock()
		for _, m := range batch {
			select {
			case in <- m:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-a.inboxCh:
		case <-ctx.Done():
			return
		}
	}
}
