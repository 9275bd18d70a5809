// Package outbox is the durable outbox every post of the bot goes through.
//
// A post is written to the outbox table first, then delivered by a worker of
// its room, in the order it was written, through the chat.Sender (which
// applies the chat's fallbacks and splits long posts), within the chat's rate
// limits (a token bucket per room and per adapter). A failed delivery is
// retried with exponential backoff; a chat's rate-limit refusal
// (chat.RateLimitError, a 429) is retried after the delay the chat asked
// for. After Config.MaxAttempts failures, or at once for a permanent error
// (chat.ErrPermanent, an unknown adapter), the post is marked failed: counted
// in the metrics, listed by Failed, never dropped. Posts still queued when
// the process stops are delivered by the next one (Start).
//
// Post, PostInThread and Update (the bot.Poster contract) write the post and
// wait for its delivery, bounded by their context: the post is durable once
// written, and the caller gets the chat's Ref when it is delivered. When the
// context ends first (and the post is not being sent at that moment: then
// the call waits for that attempt) the post stays queued and the call
// returns a provisional Ref with an error wrapping ErrNotDelivered; the
// provisional Ref may still be used as the parent of PostInThread or the
// target of Update, which then wait for it. Enqueue writes without waiting.
//
// Several processes may share a PostgreSQL outbox: a room's head post is
// claimed by one of them (see claimSQL) under a lease, so a post has one
// deliverer and a room's order holds. A post whose deliverer died is taken
// over when its lease runs out, and may then appear twice in the chat
// (opsbot_outbox_redelivered_total counts those). On SQLite one process
// delivers.
package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Sender delivers posts: a *chat.Sender.
type Sender interface {
	Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error)
	PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error)
	Update(ctx context.Context, ref chat.Ref, p chat.Post) (chat.Ref, error)
}

// adapterLookup is a Sender that knows its adapters (chat.Sender). With
// one, the outbox refuses posts to an adapter the process doesn't have
// (chat.ErrUnknownAdapter, as the Sender would), leaves alone the queued posts
// of such adapters (another process's, sharing the database), and charges a
// split post one rate token per part.
type adapterLookup interface {
	Adapter(name string) (chat.Adapter, bool)
	Adapters() []chat.Adapter
}

// ErrNotDelivered is wrapped by the error of a Post whose context ended
// before the post was delivered: it is queued and will be.
var ErrNotDelivered = errors.New("outbox: post queued, not yet delivered")

// ErrFailed is wrapped by the error of a post the outbox gave up on.
var ErrFailed = errors.New("outbox: post failed")

// refPrefix starts the ID of a provisional Ref: "outbox:42" is row 42.
const refPrefix = "outbox:"

// The ops of a row.
const (
	opPost   = "post"
	opThread = "thread"
	opUpdate = "update"
)

// Options configure an Outbox.
type Options struct {
	DB *sql.DB
	// Dialect is the store's: "sqlite" or "postgres".
	Dialect string
	Sender  Sender
	Config  Config
	Clock   clock.Clock
	Logger  *slog.Logger
	Metrics prometheus.Registerer
	// Poll is how often the outbox looks for posts other processes wrote,
	// reclaims expired claims and purges old rows (default 1s).
	Poll time.Duration
	// Lease is how long a claim holds a post while it is delivered (default
	// 2m); DeliveryTimeout bounds one delivery (default 30s, at most Lease/2).
	Lease           time.Duration
	DeliveryTimeout time.Duration
	// Drain is how long Stop keeps delivering what is due before it stops
	// (default 5s of real time; negative: not at all).
	Drain time.Duration
	// Jitter returns a random duration in [0, d] (tests make it fixed).
	Jitter func(d time.Duration) time.Duration
	// Deliverable reports whether this process may deliver an adapter's
	// posts now (nil: every adapter it has). With several replicas, a
	// single-connection chat's posts wait for the replica that holds its
	// connection; the others still accept them.
	Deliverable func(adapter string) bool
}

// Outbox is the durable outbox. It implements bot.Poster.
type Outbox struct {
	db         *sql.DB
	dialect    string
	sender     Sender
	cfg        Config
	clock      clock.Clock
	log        *slog.Logger
	metrics    *metrics
	poll       time.Duration
	lease      time.Duration
	timeout    time.Duration
	jitter     func(time.Duration) time.Duration
	drain      time.Duration
	instance   string
	canDeliver func(adapter string) bool

	mu      sync.Mutex
	started bool
	ctx     context.Context // ends at Stop
	cancel  context.CancelFunc
	workers map[roomKey]chan struct{} // a running room worker's wake-up
	idle    chan struct{}             // while Stop drains: closed when no worker runs
	waiters map[int64]chan result
	// early holds outcomes that came before their waiter, while inserting
	// (the posts being written) is not 0.
	early     map[int64]result
	inserting int
	sending   map[int64]chan struct{} // posts being sent by this process; closed when the attempt ends
	rooms     map[roomKey]*bucket
	adapters  map[string]*bucket
	wg        sync.WaitGroup

	// polls counts the polls begun (for tests).
	polls atomic.Int64
	// onSend, when set (by tests), is told the time each post's rate-limit
	// token was taken, before the post is sent.
	onSend func(k roomKey, at time.Time)
}

type roomKey struct{ adapter, room string }

// result is the outcome of a row: its Ref, or why it failed.
type result struct {
	ref chat.Ref
	err error
}

// New returns an outbox; Start delivers.
func New(o Options) *Outbox {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.DeliveryTimeout <= 0 || o.DeliveryTimeout > o.Lease/2 {
		o.DeliveryTimeout = min(30*time.Second, o.Lease/2)
	}
	if o.Jitter == nil {
		o.Jitter = randomJitter
	}
	if o.Drain == 0 {
		o.Drain = 5 * time.Second
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	return &Outbox{
		db: o.DB, dialect: o.Dialect, sender: o.Sender, cfg: o.Config.withDefaults(), clock: o.Clock,
		log: o.Logger.With("component", "outbox"), metrics: newMetrics(o.Metrics, depthOf(o.DB)), poll: o.Poll,
		lease: o.Lease, timeout: o.DeliveryTimeout, jitter: o.Jitter, drain: o.Drain, instance: hex.EncodeToString(id), canDeliver: o.Deliverable,
		workers: map[roomKey]chan struct{}{}, waiters: map[int64]chan result{}, early: map[int64]result{}, sending: map[int64]chan struct{}{},
		rooms: map[roomKey]*bucket{}, adapters: map[string]*bucket{},
	}
}

// Start delivers what earlier processes left queued, then what is written,
// until Stop. On SQLite it first ends the claims a crashed process left.
func (o *Outbox) Start(ctx context.Context) error {
	o.mu.Lock()
	if o.started {
		o.mu.Unlock()
		return errors.New("outbox: already started")
	}
	o.started = true
	o.ctx, o.cancel = context.WithCancel(context.WithoutCancel(ctx))
	o.mu.Unlock()
	if o.dialect == "sqlite" {
		for _, a := range o.localAdapters() {
			if _, err := o.db.ExecContext(ctx, releaseSQL, a); err != nil {
				return wrap("release claims", err)
			}
		}
	}
	if err := o.scan(ctx); err != nil {
		return err
	}
	o.wg.Add(1)
	go o.pollLoop()
	return nil
}

// Stop stops delivering. It first lets the room workers deliver what is due
// (posts written just before, such as a last reply), rate limits included,
// for up to Options.Drain; posts waiting out a backoff are left. A delivery
// under way then finishes (bounded by ctx), and what is left stays queued
// for the next Start.
func (o *Outbox) Stop(ctx context.Context) error {
	o.mu.Lock()
	if !o.started || o.cancel == nil {
		o.mu.Unlock()
		return nil
	}
	idle := make(chan struct{})
	if len(o.workers) == 0 {
		close(idle)
	} else {
		o.idle = idle
		for _, wake := range o.workers {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
	o.mu.Unlock()
	if o.drain > 0 {
		timer := time.NewTimer(o.drain)
		select {
		case <-idle:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
	o.mu.Lock()
	o.cancel()
	o.mu.Unlock()
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("outbox: stop: %w", ctx.Err())
	}
}

// retireLocked forgets the worker of k; o.mu is held.
func (o *Outbox) retireLocked(k roomKey) {
	delete(o.workers, k)
	if len(o.workers) == 0 && o.idle != nil {
		close(o.idle)
		o.idle = nil
	}
}

// Post writes p for room and waits for its delivery (see the package doc).
func (o *Outbox) Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	return o.post(ctx, room, opPost, nil, p)
}

// PostInThread writes p for the thread of parent (a delivered or a
// provisional Ref) and waits for its delivery.
func (o *Outbox) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	return o.post(ctx, parent.Room, opThread, &parent, p)
}

// Update writes a change of the post ref names and waits for its delivery.
// It returns what chat.Sender.Update returns: ref, or a new post's Ref on a
// chat without edits.
func (o *Outbox) Update(ctx context.Context, ref chat.Ref, p chat.Post) (chat.Ref, error) {
	return o.post(ctx, ref.Room, opUpdate, &ref, p)
}

// post writes a post and waits for it. The waiter exists before the worker
// is woken, so it can't miss the outcome.
func (o *Outbox) post(ctx context.Context, room chat.Room, op string, target *chat.Ref, p chat.Post) (chat.Ref, error) {
	ch := make(chan result, 1)
	ref, err := o.enqueue(ctx, room, op, target, p, ch)
	if err != nil {
		return chat.Ref{}, err
	}
	id, _ := rowID(ref.ID)
	return o.await(ctx, id, ref, ch)
}

// Enqueue writes p for room without waiting, and returns its provisional Ref
// (for Wait, or as a parent or Update target).
func (o *Outbox) Enqueue(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	return o.enqueue(ctx, room, opPost, nil, p, nil)
}

// enqueue writes a post; a non-nil waiter is registered for its outcome.
func (o *Outbox) enqueue(ctx context.Context, room chat.Room, op string, target *chat.Ref, p chat.Post, waiter chan result) (chat.Ref, error) {
	if room.Adapter == "" || room.ID == "" {
		return chat.Ref{}, fmt.Errorf("outbox: post to %q: the room needs an adapter and an ID", room.String())
	}
	if !o.local(room.Adapter) {
		return chat.Ref{}, fmt.Errorf("outbox: post to %s: %w %q", room, chat.ErrUnknownAdapter, room.Adapter)
	}
	post, err := json.Marshal(p)
	if err != nil {
		return chat.Ref{}, wrap("encode post", err)
	}
	tgt := ""
	if target != nil {
		b, err := json.Marshal(target)
		if err != nil {
			return chat.Ref{}, wrap("encode target", err)
		}
		tgt = string(b)
	}
	// A room's running worker may deliver the post as soon as it is
	// written, before its waiter is registered: while posts are being
	// written, finish keeps such outcomes in early.
	o.mu.Lock()
	o.inserting++
	o.mu.Unlock()
	id, err := o.insert(ctx, room.Adapter, room.ID, room.Name, op, tgt, string(post), o.clock.Now().UnixMilli())
	o.mu.Lock()
	o.inserting--
	if err == nil && waiter != nil {
		if r, ok := o.early[id]; ok {
			waiter <- r
		} else {
			o.waiters[id] = waiter
		}
	}
	if o.inserting == 0 {
		clear(o.early)
	}
	o.mu.Unlock()
	if err != nil {
		return chat.Ref{}, wrap("write post to "+room.String(), err)
	}
	o.kick(roomKey{room.Adapter, room.ID})
	return chat.Ref{Room: room, ID: refPrefix + strconv.FormatInt(id, 10)}, nil
}

// Wait waits until the post a provisional Ref names is delivered, and
// returns its Ref. A Ref that is not provisional is returned as is.
func (o *Outbox) Wait(ctx context.Context, ref chat.Ref) (chat.Ref, error) {
	id, ok := rowID(ref.ID)
	if !ok {
		return ref, nil
	}
	o.mu.Lock()
	ch, ok := o.waiters[id]
	if !ok {
		ch = make(chan result, 1)
		o.waiters[id] = ch
	}
	o.mu.Unlock()
	// The row may have been finished (by another process, or before this
	// waiter existed): look once.
	if r, done, err := o.outcome(ctx, id); err == nil && done {
		o.dropWaiter(id)
		return r.ref, r.err
	}
	return o.await(ctx, id, ref, ch)
}

// await waits for the outcome of row id on ch, registered as its waiter.
func (o *Outbox) await(ctx context.Context, id int64, ref chat.Ref, ch chan result) (chat.Ref, error) {
	select {
	case r := <-ch:
		o.dropWaiter(id)
		return r.ref, r.err
	case <-ctx.Done():
	}
	// A post being sent as ctx ends has most likely reached the chat: its
	// outcome is at most a delivery timeout away, and worth waiting for
	// (the caller gets the Ref of a post that went out).
	o.mu.Lock()
	attempt, sending := o.sending[id]
	o.mu.Unlock()
	if sending {
		select {
		case r := <-ch:
			o.dropWaiter(id)
			return r.ref, r.err
		case <-attempt:
		}
	}
	// An outcome may have come with ctx's end, or before the attempt ended.
	select {
	case r := <-ch:
		o.dropWaiter(id)
		return r.ref, r.err
	default:
	}
	o.dropWaiter(id)
	return ref, fmt.Errorf("outbox: post %d to %s: %w: %w", id, ref.Room, ErrNotDelivered, ctx.Err())
}

func (o *Outbox) dropWaiter(id int64) {
	o.mu.Lock()
	delete(o.waiters, id)
	o.mu.Unlock()
}

// finish tells the waiter of id, if any, the outcome.
func (o *Outbox) finish(id int64, r result) {
	o.mu.Lock()
	ch, ok := o.waiters[id]
	if !ok && o.inserting > 0 {
		o.early[id] = r
	}
	o.mu.Unlock()
	if ok {
		select {
		case ch <- r:
		default:
		}
	}
}

// outcome reads whether row id is finished, and how.
func (o *Outbox) outcome(ctx context.Context, id int64) (result, bool, error) {
	e, err := o.entry(ctx, id)
	if err != nil {
		return result{}, false, err
	}
	switch e.State {
	case StateSent:
		return result{ref: e.Ref}, true, nil
	case StateFailed:
		return result{err: fmt.Errorf("%w: post %d to %s: %s", ErrFailed, id, e.Room, e.Error)}, true, nil
	}
	return result{}, false, nil
}

func rowID(refID string) (int64, bool) {
	s, ok := strings.CutPrefix(refID, refPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// local reports whether this process has the adapter named.
func (o *Outbox) local(adapter string) bool {
	al, ok := o.sender.(adapterLookup)
	if !ok {
		return true
	}
	_, ok = al.Adapter(adapter)
	return ok
}

// deliverable reports whether this process delivers the adapter's posts
// now: it has the adapter and, for a single-connection chat, holds its
// connection (Options.Deliverable).
func (o *Outbox) deliverable(adapter string) bool {
	return o.local(adapter) && (o.canDeliver == nil || o.canDeliver(adapter))
}

// localAdapters names the adapters this process has; "" stands for all.
func (o *Outbox) localAdapters() []string {
	al, ok := o.sender.(adapterLookup)
	if !ok {
		return []string{""}
	}
	var names []string
	for _, a := range al.Adapters() {
		names = append(names, a.Name())
	}
	return names
}

// kick wakes the worker of a room, starting it if needed.
func (o *Outbox) kick(k roomKey) {
	if !o.deliverable(k.adapter) {
		return // the replica holding the chat's connection delivers it
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.started || o.ctx.Err() != nil {
		return
	}
	if wake, ok := o.workers[k]; ok {
		select {
		case wake <- struct{}{}:
		default:
		}
		return
	}
	wake := make(chan struct{}, 1)
	o.workers[k] = wake
	o.wg.Add(1)
	go o.work(k, wake)
}

// pollLoop looks for work other processes wrote or left, wakes the waiters
// of rows others delivered and purges old rows.
func (o *Outbox) pollLoop() {
	defer o.wg.Done()
	for n := 1; ; n++ {
		select {
		case <-o.ctx.Done():
			return
		case <-o.clock.After(o.poll):
		}
		o.polls.Add(1)
		if err := o.scan(o.ctx); err != nil && o.ctx.Err() == nil {
			o.log.Warn("outbox poll", "err", err)
		}
		o.checkWaiters(o.ctx)
		if n%60 == 0 {
			cutoff := o.clock.Now().Add(-o.cfg.Retention).UnixMilli()
			if _, err := o.db.ExecContext(o.ctx, purgeSQL, cutoff); err != nil && o.ctx.Err() == nil {
				o.log.Warn("outbox purge", "err", err)
			}
		}
	}
}

// scan starts a worker for every room with pending posts.
func (o *Outbox) scan(ctx context.Context) error {
	rows, err := o.db.QueryContext(ctx, roomsSQL)
	if err != nil {
		return wrap("list rooms", err)
	}
	var keys []roomKey
	for rows.Next() {
		var k roomKey
		if err := rows.Scan(&k.adapter, &k.room); err != nil {
			rows.Close()
			return wrap("list rooms", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Close(); err != nil {
		return wrap("list rooms", err)
	}
	if err := rows.Err(); err != nil {
		return wrap("list rooms", err)
	}
	for _, k := range keys {
		if o.deliverable(k.adapter) {
			o.kick(k)
		}
	}
	return nil
}

// depthOf counts the posts not yet delivered nor failed, for the depth
// gauge: read at each scrape, so it is exact, and counts every process's.
func depthOf(db *sql.DB) func() float64 {
	return func() float64 {
		if db == nil {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var n int64
		if err := db.QueryRowContext(ctx, depthSQL).Scan(&n); err != nil {
			return math.NaN()
		}
		return float64(n)
	}
}

// checkWaiters finishes waiters whose rows another process finished.
func (o *Outbox) checkWaiters(ctx context.Context) {
	o.mu.Lock()
	ids := make([]int64, 0, len(o.waiters))
	for id := range o.waiters {
		ids = append(ids, id)
	}
	o.mu.Unlock()
	for _, id := range ids {
		if r, done, err := o.outcome(ctx, id); err == nil && done {
			o.finish(id, r)
		}
	}
}
