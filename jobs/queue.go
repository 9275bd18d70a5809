package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/opsbot/opsbot/store"
)

// riverKind is the River job kind of every opsbot job: River carries the job
// record's ID; the record says which Kind runs it.
const riverKind = "opsbot_job"

// jobArgs are the River job's arguments.
type jobArgs struct {
	JobID   int64  `json:"job_id"`
	JobKind string `json:"kind"`
}

func (jobArgs) Kind() string { return riverKind }

// jobTag tags a River job with its record's ID, to find one from the other.
func jobTag(id int64) string { return "opsbot_job_" + strconv.FormatInt(id, 10) }

// worker is the River worker of every opsbot job.
type worker struct {
	river.WorkerDefaults[jobArgs]
	r *Runner
}

func (w *worker) Work(ctx context.Context, j *river.Job[jobArgs]) error {
	return w.r.work(ctx, j.Args.JobID)
}

// Timeout is none: each kind enforces its own (a script's `timeout`).
func (w *worker) Timeout(*river.Job[jobArgs]) time.Duration { return -1 }

// queue is River on the store's database, whichever it is.
type queue interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	hardStop(ctx context.Context) error
	// enqueue writes the job record and its River job in one transaction.
	enqueue(ctx context.Context, j store.Job) (int64, error)
	// find returns the River job of record id, or nil.
	find(ctx context.Context, id int64) (*rivertype.JobRow, error)
	cancel(ctx context.Context, riverID int64) (*rivertype.JobRow, error)
	// requeue runs job id (of kind) again: row is its River job (nil if
	// none), which a dead process may have left running.
	requeue(ctx context.Context, id int64, kind string, row *rivertype.JobRow) error
	// drop makes sure a River job never runs (again), including one a dead
	// process left running.
	drop(ctx context.Context, row *rivertype.JobRow) error
}

// riverQueue is a queue over one River driver.
type riverQueue[TTx any] struct {
	client *river.Client[TTx]
	// begin opens a transaction and returns it with a QueryRow on it.
	begin func(ctx context.Context) (tx TTx, queryRow func(sql string, args ...any) rowScanner, end func(commit bool) error, err error)
}

// pgxPooler is a store on PostgreSQL (sqlstore.Store has it).
type pgxPooler interface {
	PgxPool() *pgxpool.Pool
}

// newQueue migrates River's tables in the store's database and returns a
// client on them.
func newQueue(ctx context.Context, r *Runner) (queue, error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{r: r}); err != nil {
		return nil, fmt.Errorf("river worker: %w", err)
	}
	cfg := &river.Config{
		Logger:            slog.New(&minLevel{h: r.log.With("component", "river").Handler(), min: slog.LevelWarn}),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: r.workers}},
		Workers:           workers,
		JobTimeout:        -1,
		MaxAttempts:       1,
		FetchPollInterval: r.poll,
		FetchCooldown:     min(100*time.Millisecond, r.poll),
	}
	switch d := r.st.Dialect(); d {
	case "sqlite":
		db := r.st.DB()
		drv := riversqlite.New(db)
		if err := migrate(ctx, drv, nil); err != nil {
			return nil, err
		}
		client, err := river.NewClient(drv, cfg)
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		return &riverQueue[*sql.Tx]{client: client,
			begin: func(ctx context.Context) (*sql.Tx, func(string, ...any) rowScanner, func(bool) error, error) {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return nil, nil, nil, err
				}
				q := func(s string, args ...any) rowScanner { return tx.QueryRowContext(ctx, s, args...) }
				end := func(commit bool) error {
					if commit {
						return tx.Commit()
					}
					return tx.Rollback()
				}
				return tx, q, end, nil
			}}, nil
	case "postgres":
		p, ok := r.st.(pgxPooler)
		if !ok || p.PgxPool() == nil {
			return nil, errors.New("river on PostgreSQL needs the store's pgx pool (PgxPool)")
		}
		pool := p.PgxPool()
		drv := riverpgxv5.New(pool)
		// Several replicas may start at once: serialise River's migrations
		// under an advisory lock held on a connection of its own (they
		// can't share one transaction: a later one uses an enum value an
		// earlier one adds).
		lock := func(ctx context.Context) (func(), error) {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return nil, err
			}
			if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('opsbot river migrate'))`); err != nil {
				conn.Release()
				return nil, err
			}
			return func() {
				_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('opsbot river migrate'))`)
				conn.Release()
			}, nil
		}
		if err := migrate(ctx, drv, lock); err != nil {
			return nil, err
		}
		client, err := river.NewClient(drv, cfg)
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		return &riverQueue[pgx.Tx]{client: client,
			begin: func(ctx context.Context) (pgx.Tx, func(string, ...any) rowScanner, func(bool) error, error) {
				tx, err := pool.Begin(ctx)
				if err != nil {
					return nil, nil, nil, err
				}
				q := func(s string, args ...any) rowScanner { return tx.QueryRow(ctx, s, args...) }
				end := func(commit bool) error {
					if commit {
						return tx.Commit(ctx)
					}
					return tx.Rollback(ctx)
				}
				return tx, q, end, nil
			}}, nil
	default:
		return nil, fmt.Errorf("river: unsupported database %q", d)
	}
}

// migrate applies River's migrations, holding lock when given.
func migrate[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], lock func(context.Context) (unlock func(), err error)) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: slog.New(discard{})})
	if err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	if lock != nil {
		unlock, err := lock(ctx)
		if err != nil {
			return fmt.Errorf("river migrate: lock: %w", err)
		}
		defer unlock()
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return nil
}

func (q *riverQueue[TTx]) start(ctx context.Context) error {
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	return nil
}

func (q *riverQueue[TTx]) stop(ctx context.Context) error { return q.client.Stop(ctx) }

func (q *riverQueue[TTx]) hardStop(ctx context.Context) error { return q.client.StopAndCancel(ctx) }

func (q *riverQueue[TTx]) enqueue(ctx context.Context, j store.Job) (int64, error) {
	tx, queryRow, end, err := q.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("enqueue: begin: %w", err)
	}
	id, err := insertJob(queryRow, j)
	if err == nil {
		_, err = q.client.InsertTx(ctx, tx, jobArgs{JobID: id, JobKind: j.Kind}, &river.InsertOpts{
			MaxAttempts: 1,
			Tags:        []string{jobTag(id)},
		})
		if err != nil {
			err = fmt.Errorf("insert river job: %w", err)
		}
	}
	if err != nil {
		if rerr := end(false); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	if err := end(true); err != nil {
		return 0, fmt.Errorf("enqueue: commit: %w", err)
	}
	return id, nil
}

func (q *riverQueue[TTx]) find(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(riverKind).TagsAny(jobTag(id)).First(10))
	if err != nil {
		return nil, fmt.Errorf("find river job of job %d: %w", id, err)
	}
	if len(res.Jobs) == 0 {
		return nil, nil
	}
	return res.Jobs[len(res.Jobs)-1], nil
}

func (q *riverQueue[TTx]) cancel(ctx context.Context, riverID int64) (*rivertype.JobRow, error) {
	row, err := q.client.JobCancel(ctx, riverID)
	if err != nil {
		return nil, fmt.Errorf("cancel river job %d: %w", riverID, err)
	}
	return row, nil
}

func (q *riverQueue[TTx]) requeue(ctx context.Context, id int64, kind string, row *rivertype.JobRow) error {
	if row != nil {
		switch row.State {
		case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending:
			return nil // it will run
		case rivertype.JobStateRunning:
			// A dead process left it running, and River leaves running jobs
			// alone: mark it for cancellation, so River's stuck-job rescuer
			// finishes it as cancelled, and run the job as a new River job.
			if _, err := q.client.JobCancel(ctx, row.ID); err != nil {
				return fmt.Errorf("requeue job %d: %w", id, err)
			}
		}
	}
	_, err := q.client.Insert(ctx, jobArgs{JobID: id, JobKind: kind}, &river.InsertOpts{MaxAttempts: 1, Tags: []string{jobTag(id)}})
	if err != nil {
		return fmt.Errorf("requeue job %d: %w", id, err)
	}
	return nil
}

func (q *riverQueue[TTx]) drop(ctx context.Context, row *rivertype.JobRow) error {
	switch row.State {
	case rivertype.JobStateCancelled, rivertype.JobStateCompleted, rivertype.JobStateDiscarded:
		return nil
	}
	// Queued: cancelled now. Running (left by a dead process): marked, and
	// River's rescuer finishes it as cancelled; it never runs again.
	if _, err := q.client.JobCancel(ctx, row.ID); err != nil {
		return fmt.Errorf("drop river job %d: %w", row.ID, err)
	}
	return nil
}

// minLevel drops records below min: River reports routine events at Info.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m *minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m *minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m *minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return &minLevel{h: m.h.WithAttrs(a), min: m.min}
}
func (m *minLevel) WithGroup(n string) slog.Handler {
	return &minLevel{h: m.h.WithGroup(n), min: m.min}
}

// discard is a handler that drops everything (rivermigrate logs each step).
type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }
