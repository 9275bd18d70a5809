package schedule

import (
	"container/heap"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// RunFunc runs one firing of e, scheduled for at.
type RunFunc func(ctx context.Context, e Entry, at time.Time) error

// MissedFunc is told about firings that were not run: count of them, the
// last at last, because opsbot was down longer than the grace.
type MissedFunc func(ctx context.Context, e Entry, count int64, last time.Time)

// Options configure a Scheduler.
type Options struct {
	DB     *sql.DB
	Clock  clock.Clock
	Logger *slog.Logger
	Run    RunFunc
	Missed MissedFunc
	// Grace is how late a firing missed while opsbot was down may still
	// run, once, on start (default 15m); older ones are reported missed.
	Grace time.Duration
	// Keep is how long claimed firings are remembered (default 24h).
	Keep time.Duration
	// Reload is how often the table is checked for changes made by other
	// replicas (default 10s).
	Reload time.Duration
	// Workers bounds the firings running at once (default 32).
	Workers int
	// Fired, when set, is told about every firing this process claimed,
	// with the time it started (benchmarks measure the delay with it).
	Fired func(id string, at, started time.Time)
}

// Scheduler fires stored schedules: every firing is claimed exactly once
// in the database before it runs.
type Scheduler struct {
	o   Options
	db  db
	clk clock.Clock
	log *slog.Logger

	mu      sync.Mutex
	entries map[string]*item
	queue   queue
	version string

	pruning  atomic.Bool
	wake     chan struct{}
	settle   chan chan struct{}
	sem      chan struct{}
	inflight counter
}

type item struct {
	e     Entry
	spec  Spec
	next  time.Time
	index int // in the queue; -1 when not queued
}

// New returns a scheduler; Run starts it.
func New(o Options) *Scheduler {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Grace <= 0 {
		o.Grace = 15 * time.Minute
	}
	if o.Keep <= 0 {
		o.Keep = 24 * time.Hour
	}
	if o.Reload <= 0 {
		o.Reload = 10 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	return &Scheduler{o: o, db: db{o.DB}, clk: o.Clock, log: o.Logger, entries: map[string]*item{},
		wake: make(chan struct{}, 1), settle: make(chan chan struct{}), sem: make(chan struct{}, o.Workers)}
}

// Put adds or changes a schedule. A new one starts from its anchor (now
// when zero); see db.put for what an update keeps.
func (s *Scheduler) Put(ctx context.Context, e Entry) (Entry, error) {
	now := s.clk.Now()
	if e.Anchor.IsZero() {
		e.Anchor = now
	}
	if _, err := e.Spec(); err != nil {
		return e, err
	}
	e, err := s.db.put(ctx, e, now)
	if err != nil {
		return e, err
	}
	s.mu.Lock()
	s.load(ctx, e, now)
	if it := s.entries[e.ID]; it != nil {
		e.NextFire = it.next
	}
	s.mu.Unlock()
	s.poke()
	return e, nil
}

// Delete removes a schedule.
func (s *Scheduler) Delete(ctx context.Context, id string) error {
	if err := s.db.delete(ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	s.drop(id)
	s.mu.Unlock()
	return nil
}

// SetPaused pauses or resumes a schedule. Firings skipped while paused are
// neither run nor reported missed.
func (s *Scheduler) SetPaused(ctx context.Context, id string, paused bool) error {
	now := s.clk.Now()
	if err := s.db.setPaused(ctx, id, paused, now); err != nil {
		return err
	}
	e, err := s.db.get(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.load(ctx, e, now)
	s.mu.Unlock()
	s.poke()
	return nil
}

// Get returns one schedule.
func (s *Scheduler) Get(ctx context.Context, id string) (Entry, error) { return s.db.get(ctx, id) }

// List returns every schedule, with its next firing.
func (s *Scheduler) List(ctx context.Context) ([]Entry, error) {
	es, err := s.db.list(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range es {
		if it := s.entries[es[i].ID]; it != nil && it.index >= 0 {
			es[i].NextFire = it.next
		} else if es[i].Paused {
			es[i].NextFire = time.Time{}
		}
	}
	return es, nil
}

// Firings returns the latest recorded firings of a schedule, newest first.
func (s *Scheduler) Firings(ctx context.Context, id string, limit int) ([]Firing, error) {
	return s.db.firings(ctx, id, limit)
}

// Settle waits until the scheduler has handled every firing due at the
// clock's current time and those firings have finished (for tests).
func (s *Scheduler) Settle(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case s.settle <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.inflight.wait()
	return nil
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run loads the schedules (catching up or reporting firings missed while
// opsbot was down) and fires them until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.reload(ctx, true); err != nil {
		return err
	}
	pruned := s.clk.Now()
	reloaded := s.clk.Now()
	for {
		now := s.clk.Now()
		s.fireDue(ctx, now)
		if now.Sub(reloaded) >= s.o.Reload {
			reloaded = now
			if err := s.reload(ctx, false); err != nil && ctx.Err() == nil {
				s.log.Error("reload schedules", "err", err)
			}
		}
		if now.Sub(pruned) >= time.Minute {
			pruned = now
			s.inflight.add()
			go s.prune(ctx, now.Add(-s.o.Keep))
		}
		wait := s.o.Reload - now.Sub(reloaded)
		s.mu.Lock()
		if len(s.queue) > 0 {
			if d := s.queue[0].next.Sub(now); d < wait {
				wait = d
			}
		}
		s.mu.Unlock()
		if wait <= 0 {
			continue
		}
		select {
		case <-ctx.Done():
			s.inflight.wait()
			return nil
		case <-s.wake:
		case done := <-s.settle:
			s.fireDue(ctx, s.clk.Now())
			close(done)
		case <-s.clk.After(wait):
		}
	}
}

// prune forgets the firings claimed before cutoff, a batch at a time.
func (s *Scheduler) prune(ctx context.Context, cutoff time.Time) {
	defer s.inflight.done()
	if !s.pruning.CompareAndSwap(false, true) {
		return
	}
	defer s.pruning.Store(false)
	var total int64
	for ctx.Err() == nil {
		n, err := s.db.prune(ctx, cutoff, 1000)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("prune schedule firings", "err", err)
			}
			return
		}
		total += n
		if n < 1000 {
			break
		}
	}
	if total > 0 {
		s.log.Debug("pruned schedule firings", "count", total)
	}
}

// reload reads the table when it changed (always at start) and brings the
// in-memory queue up to date.
func (s *Scheduler) reload(ctx context.Context, force bool) error {
	v, err := s.db.version(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	same := v == s.version
	s.mu.Unlock()
	if same && !force {
		return nil
	}
	es, err := s.db.list(ctx)
	if err != nil {
		return err
	}
	now := s.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
	seen := make(map[string]bool, len(es))
	for _, e := range es {
		seen[e.ID] = true
		if it := s.entries[e.ID]; it != nil && sameSchedule(it.e, e) {
			continue
		}
		s.load(ctx, e, now)
	}
	for id := range s.entries {
		if !seen[id] {
			s.drop(id)
		}
	}
	return nil
}

func sameSchedule(a, b Entry) bool {
	return a.When == b.When && a.Timezone == b.Timezone && a.Anchor.Equal(b.Anchor) && a.Paused == b.Paused && a.Action == b.Action
}

func (s *Scheduler) drop(id string) {
	if it := s.entries[id]; it != nil {
		if it.index >= 0 {
			heap.Remove(&s.queue, it.index)
		}
		delete(s.entries, id)
	}
}

// load (under s.mu) puts e in the queue at its next firing after its last
// one. Firings that fell due meanwhile (opsbot was down): the latest runs
// now if it is within the grace, the others are reported missed.
func (s *Scheduler) load(ctx context.Context, e Entry, now time.Time) {
	s.drop(e.ID)
	spec, err := e.Spec()
	if err != nil {
		s.log.Error("schedule cannot be parsed; it will not fire", "schedule", e.ID, "when", e.When, "err", err)
		return
	}
	it := &item{e: e, spec: spec, index: -1}
	s.entries[e.ID] = it
	if e.Paused {
		return
	}
	base := e.LastFire
	if base.Before(e.Anchor) {
		base = e.Anchor
	}
	next := spec.Next(base)
	if next.IsZero() {
		return
	}
	if next.After(now) {
		it.next = next
		heap.Push(&s.queue, it)
		return
	}
	// Behind: count the missed firings up to now (bounded), find the latest
	// and the one before it.
	var count int64
	last, prev := next, time.Time{}
	for t := next; !t.IsZero() && !t.After(now); t = spec.Next(t) {
		prev, last = last, t
		count++
		if count == 100000 {
			break
		}
	}
	if now.Sub(last) <= s.o.Grace {
		// The latest runs (queued as due now); the others are missed.
		it.next = last
		heap.Push(&s.queue, it)
		if count > 1 {
			s.reportMissed(ctx, it, count-1, prev, last)
		}
		return
	}
	s.reportMissed(ctx, it, count, last, spec.Next(last))
	if n := spec.Next(now); !n.IsZero() {
		it.next = n
		heap.Push(&s.queue, it)
	} else {
		s.finishOnce(ctx, e.ID)
	}
}

// reportMissed records count missed firings, the last of them at last, as
// a claim with status "missed" (so another replica loading the same
// schedule does not report them again).
func (s *Scheduler) reportMissed(ctx context.Context, it *item, count int64, last, next time.Time) {
	won, err := s.db.claimAll(ctx, []claim{{id: it.e.ID, at: last, next: next, status: "missed", missed: count}}, s.clk.Now())
	if err != nil {
		s.log.Error("record missed firings", "schedule", it.e.ID, "err", err)
		return
	}
	if !won[0] {
		return
	}
	s.log.Warn("schedule firings missed while opsbot was down", "schedule", it.e.ID, "count", count, "last", last, "grace", s.o.Grace)
	if s.o.Missed != nil {
		e := it.e
		go s.o.Missed(context.WithoutCancel(ctx), e, count, last)
	}
}

// fireDue claims and starts every firing due at now.
func (s *Scheduler) fireDue(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var due []*item
	for len(s.queue) > 0 && !s.queue[0].next.After(now) {
		it := heap.Pop(&s.queue).(*item)
		if now.Sub(it.next) > s.o.Grace {
			// The process stalled (a suspended machine, a stopped clock):
			// handled like a restart, the latest firing within the grace
			// runs and the others are reported missed.
			e := it.e
			e.LastFire = it.next.Add(-time.Millisecond)
			s.load(ctx, e, now)
			continue
		}
		due = append(due, it)
	}
	cs := make([]claim, len(due))
	for i, it := range due {
		cs[i] = claim{id: it.e.ID, at: it.next, next: it.spec.Next(it.next), status: "running"}
		// Requeue at once, so the queue is right even if the claim fails.
		if !cs[i].next.IsZero() {
			fire := it.next
			it.next = cs[i].next
			heap.Push(&s.queue, it)
			cs[i].at = fire
		}
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return
	}
	won, err := s.db.claimAll(ctx, cs, now)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("claim schedule firings; they will not run", "count", len(cs), "err", err)
		}
		return
	}
	for i, c := range cs {
		if !won[i] {
			continue
		}
		e := due[i].e
		s.inflight.add()
		go s.run(ctx, e, c)
	}
}

func (s *Scheduler) run(ctx context.Context, e Entry, c claim) {
	defer s.inflight.done()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.sem }()
	started := s.clk.Now()
	if s.o.Fired != nil {
		s.o.Fired(e.ID, c.at, started)
	}
	err := s.safeRun(ctx, e, c.at)
	if err != nil {
		s.log.Warn("schedule firing failed", "schedule", e.ID, "at", c.at, "err", err)
	}
	fctx := context.WithoutCancel(ctx)
	if ferr := s.db.finish(fctx, e.ID, c.at, err); ferr != nil {
		s.log.Error("record firing", "schedule", e.ID, "err", ferr)
	}
	if c.next.IsZero() {
		s.finishOnce(fctx, e.ID)
	}
}

func (s *Scheduler) safeRun(ctx context.Context, e Entry, at time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if s.o.Run == nil {
		return nil
	}
	return s.o.Run(ctx, e, at)
}

// finishOnce removes a schedule that fires no more (a one-off reminder);
// its firings stay recorded.
func (s *Scheduler) finishOnce(ctx context.Context, id string) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM schedules WHERE id = $1`, id); err != nil {
		s.log.Error("remove finished schedule", "schedule", id, "err", err)
	}
	go func() {
		s.mu.Lock()
		s.drop(id)
		s.mu.Unlock()
	}()
}

// counter counts running goroutines; unlike a WaitGroup, it may be waited
// on while goroutines are being added (Settle and the loop run at once).
type counter struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0; nil while n is 0
}

func (c *counter) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.zero = make(chan struct{})
	}
	c.n++
}

func (c *counter) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.n == 0 {
		close(c.zero)
		c.zero = nil
	}
}

// wait returns once nothing runs.
func (c *counter) wait() {
	for {
		c.mu.Lock()
		z := c.zero
		c.mu.Unlock()
		if z == nil {
			return
		}
		<-z
	}
}

// queue is a min-heap of items by next firing.
type queue []*item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].next.Equal(q[j].next) {
		return q[i].e.ID < q[j].e.ID
	}
	return q[i].next.Before(q[j].next)
}
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	it := x.(*item)
	it.index = len(*q)
	*q = append(*q, it)
}
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = nil
	it.index = -1
	*q = old[:len(old)-1]
	return it
}
