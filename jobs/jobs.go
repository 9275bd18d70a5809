// Package jobs runs opsbot's background work on River, the job queue that
// keeps its jobs in the same database as the store (its SQLite driver on
// SQLite, its pgx driver on PostgreSQL), so a job survives restarts and, on
// PostgreSQL, runs on whichever replica picks it up.
//
// A job has two records: the store's job record (store.Job: what users see
// with `jobs`, its state, exit code and log) and a River job that carries the
// record's ID to a worker. Enqueue writes both in one transaction, so there
// is never one without the other.
//
// Each job kind says whether it is resumable. When opsbot stops while a job
// runs, on the next start a resumable job runs again (Run.Resumed is set) and
// any other is marked interrupted and its room is told. A graceful stop does
// the same at once; after a crash or SIGKILL the next start finds the job by
// its lease (see lease.go) without waiting for River's stuck-job rescuer.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/redact"
	"github.com/opsbot/opsbot/store"
)

// The states of a job record.
const (
	StateQueued      = "queued"
	StateRunning     = "running"
	StateSucceeded   = "succeeded"
	StateFailed      = "failed"
	StateCancelled   = "cancelled"
	StateTimeout     = "timeout"
	StateInterrupted = "interrupted"
)

// Finished reports whether state is final.
func Finished(state string) bool {
	switch state {
	case StateQueued, StateRunning, "":
		return false
	}
	return true
}

var (
	// ErrUnknownKind is returned for a kind that was never registered.
	ErrUnknownKind = errors.New("unknown job kind")
	// ErrNotStarted is returned by Enqueue before Start.
	ErrNotStarted = errors.New("job runner not started")
	// ErrFinished is returned by Cancel for a job that already ended.
	ErrFinished = errors.New("job already finished")
	// ErrElsewhere is returned by Cancel for a foreground run that another
	// opsbot process is running: only that process can stop it.
	ErrElsewhere = errors.New("job runs in another opsbot process")

	// ErrTimeout is what a kind returns (wrapped) when the job ran out of
	// time; the record's state becomes "timeout".
	ErrTimeout = errors.New("timed out")

	// ErrCancelled is the cause of a job context cancelled by Cancel.
	ErrCancelled = errors.New("job cancelled")
	// ErrShutdown is the cause of a job context cancelled because opsbot
	// is stopping.
	ErrShutdown = errors.New("opsbot is stopping")
)

// Kind is one kind of job.
type Kind struct {
	// Name identifies the kind in job records and metrics ("scripts.refresh-toy-db").
	Name string
	// Resumable kinds run again after a restart interrupted them; the others
	// are marked interrupted.
	Resumable bool
	// Run does the work. It must return soon after ctx is done; the cause
	// (context.Cause) tells why: ErrCancelled, ErrShutdown or another.
	// Returning an error wrapping ErrTimeout marks the job "timeout", any
	// other error "failed", nil "succeeded" (see Run.SetExitCode).
	Run func(ctx context.Context, r *Run) error
	// Abandoned, if set, is called for a job whose process died while
	// running it (found at the next start), before the job is resumed or
	// marked interrupted: it cleans up what that process left behind (the
	// scripts module kills the program it had started). It may be called
	// more than once for a job.
	Abandoned func(ctx context.Context, j store.Job)
	// TellsInterruption: the kind tells its room itself when one of its
	// jobs is interrupted (the deployments module says which environment is
	// free again); the runner then does not post its own notice.
	TellsInterruption bool
}

// Poster is where jobs post: the bot, which masks secrets and applies each
// chat's fallbacks.
type Poster interface {
	Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error)
	PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error)
}

// Options configure a Runner.
type Options struct {
	Store   store.Store
	Logger  *slog.Logger
	Clock   clock.Clock
	Metrics prometheus.Registerer
	Poster  Poster
	// Redactor masks secrets in job logs and error texts (optional).
	Redactor *redact.Redactor

	// MaxWorkers is how many background jobs run at once in this process
	// (default 100; jobs mostly wait on other programs).
	MaxWorkers int
	// LeaseTTL is how long a running job's lease lasts without being
	// renewed (default 30s): after a crash on another host, its jobs are
	// recovered once their leases run out. Jobs of a dead process on this
	// host are recovered at once.
	LeaseTTL time.Duration
	// PollInterval is how often River looks for jobs it was not told about
	// (default 1s).
	PollInterval time.Duration
}

// Runner runs jobs.
type Runner struct {
	st       store.Store
	log      *slog.Logger
	clock    clock.Clock
	poster   Poster
	redactor *redact.Redactor
	metrics  *metrics
	owner    owner
	leaseTTL time.Duration
	poll     time.Duration
	workers  int

	mu      sync.Mutex
	kinds   map[string]Kind
	active  map[int64]*active
	q       queue
	started bool
	stopped bool
	stopCh  chan struct{}
	loops   sync.WaitGroup
	runs    sync.WaitGroup // runs in progress (background and foreground)
	stopErr error
	stopMu  sync.Mutex
}

// active is a run in progress in this process.
type active struct {
	cancel context.CancelCauseFunc
	run    *Run
}

// New returns a runner; Register kinds, then Start it.
func New(o Options) *Runner {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 100
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	return &Runner{
		st: o.Store, log: o.Logger.With("component", "jobs"), clock: o.Clock, poster: o.Poster,
		redactor: o.Redactor, metrics: newMetrics(o.Metrics), owner: thisProcess(),
		leaseTTL: o.LeaseTTL, poll: o.PollInterval, workers: o.MaxWorkers,
		kinds: map[string]Kind{}, active: map[int64]*active{}, stopCh: make(chan struct{}),
	}
}

// Register adds a job kind. Kinds are registered before Start, while modules
// provision.
func (r *Runner) Register(k Kind) error {
	if k.Name == "" || k.Run == nil {
		return fmt.Errorf("register job kind %q: a name and a Run function are required", k.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[k.Name]; dup {
		return fmt.Errorf("register job kind %q: already registered", k.Name)
	}
	r.kinds[k.Name] = k
	return nil
}

// Kind returns a registered kind.
func (r *Runner) Kind(name string) (Kind, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.kinds[name]
	return k, ok
}

// Running returns the IDs of the jobs running in this process.
func (r *Runner) Running() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]int64, 0, len(r.active))
	for id := range r.active {
		ids = append(ids, id)
	}
	return ids
}

// RoomKey is how a job record names its room: "adapter:id".
func RoomKey(room chat.Room) string { return room.Adapter + ":" + room.ID }

// ParseRoom reverses RoomKey (the room's display name is not kept).
func ParseRoom(key string) chat.Room {
	adapter, id, _ := strings.Cut(key, ":")
	return chat.Room{Adapter: adapter, ID: id}
}

func (r *Runner) mask(s string) string {
	if r.redactor == nil {
		return s
	}
	return r.redactor.String(s)
}

// metrics are the runner's Prometheus metrics.
type metrics struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	running  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "opsbot", Name: "jobs_total",
			Help: "Jobs that ended, by kind and final state (succeeded, failed, cancelled, timeout, interrupted).",
		}, []string{"kind", "state"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "opsbot", Name: "job_duration_seconds",
			Help:    "How long jobs ran, by kind (one observation per run; a resumed job counts each run).",
			Buckets: []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200},
		}, []string{"kind"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "opsbot", Name: "jobs_running",
			Help: "Jobs running in this process now.",
		}),
	}
	if reg != nil {
		m.total = register(reg, m.total)
		m.duration = register(reg, m.duration)
		m.running = register(reg, m.running)
	}
	return m
}

// register registers c, or returns the collector already registered in its
// place (a second runner on the same registry, in tests).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("jobs: register metrics: %v", err))
	}
	return c
}

// Cancelled reports whether a job's context ended because the job was
// cancelled (here, or through River from another replica).
func Cancelled(ctx context.Context) bool {
	return classify(ctx, ctx.Err()) == StateCancelled
}

// ShuttingDown reports whether a job's context ended because opsbot is
// stopping: the run should end without reporting an outcome of its own (a
// resumable job runs again, another is reported interrupted).
func ShuttingDown(ctx context.Context) bool {
	return ctx.Err() != nil && classify(ctx, ctx.Err()) == stateShutdown
}

// FormatDuration writes a duration the way job messages do: "0.4s",
// "12.3s", "5m", "1h2m3s".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return strings.TrimSuffix(strconv.FormatFloat(d.Seconds(), 'f', 1, 64), ".0") + "s"
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
