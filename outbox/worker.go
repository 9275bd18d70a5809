package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// claimed is a row a worker holds.
type claimed struct {
	id        int64
	room      chat.Room
	op        string
	target    string
	post      chat.Post
	attempts  int
	errors    int
	reclaimed bool
	enqueued  time.Time
}

// work delivers a room's posts in order until none is pending, then ends.
func (o *Outbox) work(k roomKey, wake chan struct{}) {
	defer o.wg.Done()
	for {
		wait, held, err := o.step(k)
		if o.ctx.Err() != nil || held && o.isDraining() {
			// Stopping; or draining, and the head post is not due (a backoff).
			o.retire(k)
			return
		}
		if err != nil {
			o.log.Warn("outbox worker", "adapter", k.adapter, "room", k.room, "err", err)
			wait = o.poll
		}
		if wait == 0 {
			continue
		}
		if wait < 0 {
			// Nothing pending: end, unless woken meanwhile.
			o.mu.Lock()
			select {
			case <-wake:
				o.mu.Unlock()
				continue
			default:
			}
			o.retireLocked(k)
			o.mu.Unlock()
			return
		}
		select {
		case <-o.ctx.Done():
			o.retire(k)
			return
		case <-wake:
		case <-o.clock.After(wait):
		}
	}
}

func (o *Outbox) retire(k roomKey) {
	o.mu.Lock()
	o.retireLocked(k)
	o.mu.Unlock()
}

// step delivers the room's head post if it is due, and says how long to
// wait before the next step: 0 at once, < 0 when nothing is pending. held
// is true when the head post is not due yet (a backoff, another's claim).
func (o *Outbox) step(k roomKey) (wait time.Duration, held bool, err error) {
	if !o.deliverable(k.adapter) {
		return -1, false, nil // the chat's connection moved to another replica: retire
	}
	d, now := o.reserve(k)
	if d > 0 {
		return d, false, nil
	}
	c, err := o.claim(k, now)
	if err != nil || c == nil {
		o.refund(k)
	}
	if err != nil {
		return 0, false, err
	}
	if c == nil {
		wait, err := o.headWait(k, now)
		return wait, wait > 0, err
	}
	if o.onSend != nil {
		o.onSend(k, now)
	}
	o.deliver(k, c)
	return 0, false, nil
}

func (o *Outbox) isDraining() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.idle != nil
}

// claim takes the room's head post if it is due.
func (o *Outbox) claim(k roomKey, now time.Time) (*claimed, error) {
	var (
		c         = &claimed{room: chat.Room{Adapter: k.adapter, ID: k.room}}
		post      string
		reclaimed int
		enqueued  int64
	)
	err := o.db.QueryRowContext(o.ctx, claimSQL, o.instance, now.Add(o.lease).UnixMilli(), k.adapter, k.room, now.UnixMilli()).
		Scan(&c.id, &c.room.Name, &c.op, &c.target, &post, &c.attempts, &c.errors, &reclaimed, &enqueued)
	if noRow(err) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("claim", err)
	}
	c.reclaimed = reclaimed == 1
	c.enqueued = time.UnixMilli(enqueued)
	if err := json.Unmarshal([]byte(post), &c.post); err != nil {
		// A row this version can't read can't be delivered by retrying.
		c.post = chat.Post{}
		o.fail(k, c, fmt.Errorf("%w: decode post: %w", chat.ErrPermanent, err), 0)
		return nil, nil
	}
	return c, nil
}

// headWait is how long until the room's head post may be claimed, or -1.
func (o *Outbox) headWait(k roomKey, now time.Time) (time.Duration, error) {
	var (
		state       string
		next, lease int64
	)
	err := o.db.QueryRowContext(o.ctx, headSQL, k.adapter, k.room).Scan(&state, &next, &lease)
	if noRow(err) {
		return -1, nil
	}
	if err != nil {
		return 0, wrap("head", err)
	}
	at := next
	if state == StateSending {
		at = max(at, lease)
	}
	d := time.UnixMilli(at).Sub(now)
	if d <= 0 {
		// Due, yet not claimed: a claim another process released meanwhile.
		d = time.Millisecond
	}
	return min(d, o.poll), nil
}

// reserve takes a token from the room's and the adapter's buckets at now,
// or says how long until both have one. Taking both at once, under the lock, keeps
// the rooms of an adapter from spending one token twice.
func (o *Outbox) reserve(k roomKey) (wait time.Duration, now time.Time) {
	now = o.clock.Now()
	rb, ab := o.buckets(k, now)
	o.mu.Lock()
	defer o.mu.Unlock()
	if d := max(rb.wait(now), ab.wait(now)); d > 0 {
		return d, now
	}
	rb.take(1, now)
	ab.take(1, now)
	return 0, now
}

// refund gives back a token reserve took for a post that wasn't there.
func (o *Outbox) refund(k roomKey) {
	now := o.clock.Now()
	rb, ab := o.buckets(k, now)
	o.mu.Lock()
	defer o.mu.Unlock()
	rb.take(-1, now)
	ab.take(-1, now)
}

func (o *Outbox) buckets(k roomKey, now time.Time) (room, adapter *bucket) {
	l := o.cfg.limitFor(k.adapter, o.declaredLimits(k.adapter))
	o.mu.Lock()
	defer o.mu.Unlock()
	if l.RoomRate > 0 {
		if room = o.rooms[k]; room == nil {
			room = newBucket(l.RoomRate, l.RoomBurst, now)
			o.rooms[k] = room
		}
	}
	if l.AdapterRate > 0 {
		if adapter = o.adapters[k.adapter]; adapter == nil {
			adapter = newBucket(l.AdapterRate, l.AdapterBurst, now)
			o.adapters[k.adapter] = adapter
		}
	}
	return room, adapter
}

// declaredLimits are the limits the adapter states, if it does.
func (o *Outbox) declaredLimits(adapter string) *chat.RateLimits {
	al, ok := o.sender.(adapterLookup)
	if !ok {
		return nil
	}
	a, ok := al.Adapter(adapter)
	if !ok {
		return nil
	}
	rl, ok := a.(chat.RateLimiter)
	if !ok {
		return nil
	}
	l := rl.RateLimits()
	return &l
}

// parts is how many chat posts p makes: the Sender splits a text over a
// Limiter adapter's limit. It is a count for the rate limit, not the split.
func (o *Outbox) parts(adapter string, p chat.Post) int {
	al, ok := o.sender.(adapterLookup)
	if !ok {
		return 1
	}
	a, ok := al.Adapter(adapter)
	if !ok {
		return 1
	}
	l, ok := a.(chat.Limiter)
	if !ok || l.MaxPostLen() <= 0 {
		return 1
	}
	return len(chat.Split(p.Text, l.MaxPostLen()))
}

// deliver sends a claimed post and records the outcome.
func (o *Outbox) deliver(k roomKey, c *claimed) {
	if c.reclaimed {
		o.metrics.redelivered.WithLabelValues(k.adapter).Inc()
		o.log.Warn("outbox: delivering a post whose earlier delivery was cut short; it may appear twice",
			"id", c.id, "room", c.room.String())
	}
	// reserve took one token; a split post costs one per part.
	if n := o.parts(k.adapter, c.post); n > 1 {
		now := o.clock.Now()
		rb, ab := o.buckets(k, now)
		o.mu.Lock()
		rb.take(n-1, now)
		ab.take(n-1, now)
		o.mu.Unlock()
	}

	attempt := make(chan struct{})
	o.mu.Lock()
	o.sending[c.id] = attempt
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.sending, c.id)
		o.mu.Unlock()
		close(attempt)
	}()
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(o.ctx), o.timeout)
	ref, err := o.send(sendCtx, c)
	cancel()
	// The outcome is recorded even if the delivery used up its time, or Stop came.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(o.ctx), o.timeout)
	defer cancel()
	if err == nil {
		o.sent(ctx, k, c, ref)
		return
	}
	if errors.Is(err, errParentPending) {
		// The parent is in another room's queue (or another process's hands):
		// look again shortly, without counting a failure.
		o.retry(ctx, k, c, o.clock.Now().Add(o.poll), 0, err)
		return
	}
	if d, ok := chat.RetryAfter(err); ok {
		if d <= 0 {
			d = backoff(c.attempts, o.cfg.Backoff, o.cfg.MaxBackoff, o.jitter)
		}
		o.metrics.posts.WithLabelValues(k.adapter, "retried").Inc()
		o.log.Info("outbox: rate limited by the chat", "id", c.id, "room", c.room.String(), "retry_after", d)
		o.retry(ctx, k, c, o.clock.Now().Add(d), 0, err)
		return
	}
	failures := c.errors + 1
	if errors.Is(err, chat.ErrPermanent) || errors.Is(err, chat.ErrUnknownAdapter) || failures >= o.cfg.MaxAttempts {
		o.fail(k, c, err, 1)
		return
	}
	d := backoff(failures, o.cfg.Backoff, o.cfg.MaxBackoff, o.jitter)
	o.metrics.posts.WithLabelValues(k.adapter, "retried").Inc()
	o.log.Warn("outbox: delivery failed, will retry", "id", c.id, "room", c.room.String(),
		"attempt", failures, "retry_in", d, "err", err)
	o.retry(ctx, k, c, o.clock.Now().Add(d), 1, err)
}

var errParentPending = errors.New("the post it refers to is not delivered yet")

// send makes the Sender call for c's op, resolving a provisional target.
func (o *Outbox) send(ctx context.Context, c *claimed) (chat.Ref, error) {
	if c.op == opPost {
		return o.sender.Post(ctx, c.room, c.post)
	}
	var target chat.Ref
	if err := json.Unmarshal([]byte(c.target), &target); err != nil {
		return chat.Ref{}, fmt.Errorf("%w: decode target: %w", chat.ErrPermanent, err)
	}
	target.Room = c.room
	target, ok, err := o.resolve(ctx, target)
	if err != nil {
		return chat.Ref{}, err
	}
	if !ok {
		// The post it refers to failed: say it in the room rather than not at all.
		return o.sender.Post(ctx, c.room, c.post)
	}
	if c.op == opThread {
		return o.sender.PostInThread(ctx, target, c.post)
	}
	return o.sender.Update(ctx, target, c.post)
}

// resolve replaces provisional IDs in ref by the delivered ones. ok is false
// when the post it names failed.
func (o *Outbox) resolve(ctx context.Context, ref chat.Ref) (chat.Ref, bool, error) {
	for _, field := range []*string{&ref.ID, &ref.Thread} {
		id, provisional := rowID(*field)
		if !provisional {
			continue
		}
		e, err := o.entry(ctx, id)
		if err != nil {
			return ref, false, err
		}
		switch e.State {
		case StateSent:
			if field == &ref.ID {
				*field = e.Ref.ID
				if ref.Thread == "" {
					ref.Thread = e.Ref.Thread
				}
			} else {
				*field = e.Ref.ID
			}
		case StateFailed:
			return ref, false, nil
		default:
			return ref, false, fmt.Errorf("post %d: %w", id, errParentPending)
		}
	}
	return ref, true, nil
}

func (o *Outbox) sent(ctx context.Context, k roomKey, c *claimed, ref chat.Ref) {
	b, _ := json.Marshal(ref)
	now := o.clock.Now()
	ok, err := exec(ctx, o.db, sentSQL, now.UnixMilli(), string(b), c.id, o.instance)
	if err != nil || !ok {
		// Delivered, but the record says otherwise: the post may go out again.
		o.log.Error("outbox: post delivered but not marked sent", "id", c.id, "room", c.room.String(), "err", err)
	}
	o.metrics.posts.WithLabelValues(k.adapter, "sent").Inc()
	o.metrics.delivery.WithLabelValues(k.adapter).Observe(max(now.Sub(c.enqueued), 0).Seconds())
	o.finish(c.id, result{ref: ref})
}

func (o *Outbox) retry(ctx context.Context, k roomKey, c *claimed, at time.Time, failed int, cause error) {
	if _, err := exec(ctx, o.db, retrySQL, at.UnixMilli(), failed, cause.Error(), c.id, o.instance); err != nil {
		o.log.Error("outbox: record retry", "id", c.id, "room", c.room.String(), "err", err)
	}
}

func (o *Outbox) fail(k roomKey, c *claimed, cause error, failed int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(o.ctx), o.timeout)
	defer cancel()
	if _, err := exec(ctx, o.db, failSQL, o.clock.Now().UnixMilli(), failed, cause.Error(), c.id, o.instance); err != nil {
		o.log.Error("outbox: record failure", "id", c.id, "room", c.room.String(), "err", err)
	}
	o.metrics.posts.WithLabelValues(k.adapter, "failed").Inc()
	o.log.Error("outbox: post failed, giving up", "id", c.id, "room", c.room.String(),
		"attempts", c.attempts, "err", cause)
	o.finish(c.id, result{err: fmt.Errorf("%w: post %d to %s: %w", ErrFailed, c.id, c.room, cause)})
}
