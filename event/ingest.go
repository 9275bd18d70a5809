package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/clock"
)

// Defaults of IngesterOptions.
const (
	DefaultMaxBatch      = 500
	DefaultQueue         = 4096
	DefaultCommitTimeout = 30 * time.Second
	DefaultPublishQueue  = 256
)

// ErrClosed is returned by Ingest once the ingester is closed.
var ErrClosed = errors.New("the event ingester is shut down")

// Publisher delivers an event to in-process subscribers (a *Bus).
type Publisher interface {
	Publish(ctx context.Context, e Event) int
}

// IngesterOptions configure NewIngester.
type IngesterOptions struct {
	Log    Log
	Bus    Publisher // nil: nothing is published
	Clock  clock.Clock
	Logger *slog.Logger
	// Metrics, when set, receives opsbot_events_total{source} and the batch
	// size and commit latency histograms.
	Metrics prometheus.Registerer
	// MaxBatch caps the events of one transaction (a single Ingest call is
	// never split, so one larger call makes a larger batch).
	MaxBatch int
	// MaxWait is how long the batcher lingers for more events when the
	// queue is empty and the batch is not full. 0 (the default) commits at
	// once: under load the batch still grows, as calls queue up while the
	// previous batch commits (group commit).
	MaxWait time.Duration
	// Queue is how many Ingest calls may wait for the batcher.
	Queue int
	// CommitTimeout bounds one append transaction.
	CommitTimeout time.Duration
	// PublishQueue is how many committed batches may wait for the
	// subscribers in memory (default 256); past it the publisher reads them
	// back from the log.
	PublishQueue int
}

// Stats are counters of the ingester's work so far.
type Stats struct {
	Batches  int64 // append transactions
	Events   int64 // events appended
	MaxBatch int64 // most events in one transaction
	Failed   int64 // transactions that failed
}

// BatchIngester is the Ingester: it validates events, appends them to the
// log in group commits (concurrent calls share one transaction), answers
// each caller once its events are durably stored, and then publishes them
// to the bus, in log order, on its own goroutine: a slow subscriber never
// holds up ingestion, and none sees an event before it is stored.
type BatchIngester struct {
	log      Log
	bus      Publisher
	clock    clock.Clock
	logger   *slog.Logger
	maxBatch int
	maxWait  time.Duration
	timeout  time.Duration

	mu     sync.RWMutex // held for reading while sending to reqs; Close takes it to stop them
	closed bool
	reqs   chan *request
	stop   chan struct{}
	done   chan struct{}

	pub *publisher
	Notifier
	newest int64 // the highest Seq appended so far; only the batcher touches it

	metrics *ingestMetrics
	stats   struct{ batches, events, maxBatch, failed atomic.Int64 }
}

var _ Ingester = (*BatchIngester)(nil)

type request struct {
	events []Event
	done   chan result
}

type result struct {
	stored []Stored
	err    error
}

// header is what a log can tell of its end; the ingester starts publishing
// after it (eventsql.Log has it).
type header interface {
	Head(ctx context.Context) (int64, error)
}

// NewIngester starts an ingester over o.Log; Close stops it.
func NewIngester(ctx context.Context, o IngesterOptions) (*BatchIngester, error) {
	if o.Log == nil {
		return nil, errors.New("event ingester: no log")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.PublishQueue <= 0 {
		o.PublishQueue = DefaultPublishQueue
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = DefaultCommitTimeout
	}
	var head int64
	if h, ok := o.Log.(header); ok {
		var err error
		if head, err = h.Head(ctx); err != nil {
			return nil, fmt.Errorf("event ingester: %w", err)
		}
	}
	m, err := newIngestMetrics(o.Metrics)
	if err != nil {
		return nil, fmt.Errorf("event ingester: %w", err)
	}
	g := &BatchIngester{
		log: o.Log, bus: o.Bus, clock: o.Clock, logger: o.Logger,
		maxBatch: o.MaxBatch, maxWait: o.MaxWait, timeout: o.CommitTimeout,
		reqs: make(chan *request, o.Queue), stop: make(chan struct{}), done: make(chan struct{}),
		metrics: m, newest: head,
	}
	g.pub = newPublisher(o.Log, o.Bus, o.Logger, head, o.PublishQueue, m)
	go g.batch()
	go g.pub.run()
	return g, nil
}

// Log is the log the ingester appends to (for readers: the notify
// pipeline, the console, `changes`).
func (g *BatchIngester) Log() Log { return g.log }

// Stats returns counters of the work done so far.
func (g *BatchIngester) Stats() Stats {
	return Stats{Batches: g.stats.batches.Load(), Events: g.stats.events.Load(),
		MaxBatch: g.stats.maxBatch.Load(), Failed: g.stats.failed.Load()}
}

// Pending is how many Ingest calls wait for the batcher.
func (g *BatchIngester) Pending() int { return len(g.reqs) }

// Ingest validates events (filling defaults, see Normalize), appends them
// and returns them as stored, once durable. A validation error is an
// *InvalidError (errors.Is ErrInvalid) and nothing is stored. If ctx ends
// first, Ingest returns its error, but the events may still be stored:
// senders that retry should set IDs, which makes the retry idempotent.
func (g *BatchIngester) Ingest(ctx context.Context, events []Event) ([]Stored, error) {
	if len(events) == 0 {
		return nil, nil
	}
	evs := slices.Clone(events)
	if err := NormalizeAll(evs, g.clock.Now(), false); err != nil {
		return nil, err
	}
	r := &request{events: evs, done: make(chan result, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		g.mu.RUnlock()
		return nil, ctx.Err()
	}
	g.mu.RUnlock()
	select {
	case res := <-r.done:
		return res.stored, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops taking events, commits those already queued, lets the
// subscribers see every committed event, and returns when done or when ctx
// ends.
func (g *BatchIngester) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
	} else {
		g.closed = true
		g.mu.Unlock()
		close(g.stop)
	}
	select {
	case <-g.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-g.pub.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batch is the batcher goroutine: it takes the first waiting call, adds
// every call already queued behind it (up to maxBatch events, lingering up
// to maxWait), and commits them in one transaction.
func (g *BatchIngester) batch() {
	defer close(g.done)
	defer close(g.pub.in)
	for {
		var first *request
		select {
		case first = <-g.reqs:
		case <-g.stop:
			// Close holds no sender any more: commit what is queued and end.
			for {
				select {
				case r := <-g.reqs:
					g.commit(g.collect(r))
				default:
					return
				}
			}
		}
		g.commit(g.collect(first))
	}
}

func (g *BatchIngester) collect(first *request) []*request {
	batch := []*request{first}
	n := len(first.events)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for n < g.maxBatch {
		select {
		case r := <-g.reqs:
			batch, n = append(batch, r), n+len(r.events)
			continue
		default:
		}
		if g.maxWait <= 0 {
			break
		}
		if timer == nil {
			timer = time.NewTimer(g.maxWait)
		}
		select {
		case r := <-g.reqs:
			batch, n = append(batch, r), n+len(r.events)
			continue
		case <-timer.C:
		}
		break
	}
	return batch
}

func (g *BatchIngester) commit(batch []*request) {
	var all []Event
	for _, r := range batch {
		all = append(all, r.events...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	start := time.Now()
	stored, err := g.log.Append(ctx, all)
	g.metrics.commit(time.Since(start), len(all), err)
	if err != nil {
		g.stats.failed.Add(1)
		g.logger.Error("event append failed", "events", len(all), "calls", len(batch), "err", err)
		for _, r := range batch {
			r.done <- result{err: fmt.Errorf("store events: %w", err)}
		}
		return
	}
	g.stats.batches.Add(1)
	g.stats.events.Add(int64(len(all)))
	for {
		m := g.stats.maxBatch.Load()
		if int64(len(all)) <= m || g.stats.maxBatch.CompareAndSwap(m, int64(len(all))) {
			break
		}
	}
	off := 0
	for _, r := range batch {
		n := len(r.events)
		r.done <- result{stored: stored[off : off+n : off+n]}
		off += n
	}
	for _, s := range stored {
		if s.Seq > g.newest { // not a retry of an event stored before
			g.newest = s.Seq
			g.metrics.in(s.Source)
		}
	}
	g.Wake()
	g.pub.enqueue(stored)
}

// publisher hands committed events to the bus in log order. Batches wait in
// a bounded queue; when it is full the batcher does not wait but marks the
// publisher behind, and the publisher reads the missed events back from the
// log (After its cursor) before going on.
type publisher struct {
	log     Log
	bus     Publisher
	logger  *slog.Logger
	metrics *ingestMetrics
	in      chan []Stored
	behind  atomic.Bool
	last    int64 // highest Seq published; only the run goroutine touches it
	done    chan struct{}
}

func newPublisher(log Log, bus Publisher, logger *slog.Logger, head int64, queue int, m *ingestMetrics) *publisher {
	return &publisher{log: log, bus: bus, logger: logger, metrics: m, last: head,
		in: make(chan []Stored, queue), done: make(chan struct{})}
}

func (p *publisher) enqueue(batch []Stored) {
	if p.bus == nil {
		return
	}
	select {
	case p.in <- batch:
	default:
		p.behind.Store(true)
		p.metrics.behind()
	}
}

func (p *publisher) run() {
	defer close(p.done)
	ctx := context.Background()
	for batch := range p.in {
		if p.behind.Swap(false) {
			p.catchUp(ctx)
		}
		for _, s := range batch {
			p.publish(ctx, s)
		}
	}
	if p.behind.Swap(false) {
		p.catchUp(ctx)
	}
}

func (p *publisher) publish(ctx context.Context, s Stored) {
	if s.Seq <= p.last {
		return // a duplicate ID's earlier event, or read back already
	}
	p.last = s.Seq
	p.bus.Publish(ctx, s.Event)
}

// catchUp publishes what the log holds after the cursor.
func (p *publisher) catchUp(ctx context.Context) {
	for {
		got, err := p.log.After(ctx, p.last, 1000)
		if err != nil {
			p.logger.Error("event publisher: read the log back", "after", p.last, "err", err)
			return
		}
		for _, s := range got {
			p.publish(ctx, s)
		}
		if len(got) < 1000 {
			return
		}
	}
}

// ingestMetrics are the ingester's Prometheus metrics (no-ops without a registry).
type ingestMetrics struct {
	total     *prometheus.CounterVec
	batchSize prometheus.Histogram
	commitDur prometheus.Histogram
	failed    prometheus.Counter
	behindN   prometheus.Counter
}

func newIngestMetrics(reg prometheus.Registerer) (*ingestMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &ingestMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsbot_events_total",
			Help: "Events stored, by source."}, []string{"source"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "opsbot_event_ingest_batch_size",
			Help:    "Events per append transaction (group commit).",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}}),
		commitDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "opsbot_event_ingest_commit_seconds",
			Help:    "Duration of one append transaction.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "opsbot_event_ingest_failed_total",
			Help: "Append transactions that failed (their callers got an error)."}),
		behindN: prometheus.NewCounter(prometheus.CounterOpts{Name: "opsbot_event_publish_behind_total",
			Help: "Times the subscribers fell behind and the publisher read events back from the log."}),
	}
	for _, c := range []prometheus.Collector{m.total, m.batchSize, m.commitDur, m.failed, m.behindN} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *ingestMetrics) commit(d time.Duration, n int, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.failed.Inc()
		return
	}
	m.batchSize.Observe(float64(n))
	m.commitDur.Observe(d.Seconds())
}

func (m *ingestMetrics) in(source string) {
	if m != nil {
		m.total.WithLabelValues(source).Inc()
	}
}

func (m *ingestMetrics) behind() {
	if m != nil {
		m.behindN.Inc()
	}
}
