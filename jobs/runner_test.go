package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/redact"
	"github.com/opsbot/opsbot/store"
)

var room = chat.Room{Adapter: "test", ID: "ops", Name: "#ops"}

func TestEnqueueRunsTheJob(t *testing.T) {
	forEachDB(t, func(t *testing.T, db database) {
		st := db.open(t)
		p := newPoster()
		reg := prometheus.NewRegistry()
		red := redact.New("hunter22")
		ran := make(chan *jobs.Run, 1)
		r := newRunner(t, st, runnerOpts{poster: p, reg: reg, redactor: red}, jobs.Kind{
			Name: "echo",
			Run: func(ctx context.Context, run *jobs.Run) error {
				ref, err := run.Post(ctx, chat.Post{Text: fmt.Sprintf("started job #%d", run.ID())})
				if err != nil {
					return err
				}
				if err := run.SetThread(ctx, ref); err != nil {
					return err
				}
				if err := run.Log(ctx, []byte("password hunter22\n")); err != nil {
					return err
				}
				if _, err := run.Post(ctx, chat.Post{Text: "done"}); err != nil {
					return err
				}
				ran <- run
				return nil
			},
		})

		j, err := r.Enqueue(t.Context(), "echo", store.Job{
			Command: "echo hello", Args: map[string]string{"what": "hello"}, UserName: "alice",
			Room: jobs.RoomKey(room), Payload: `{"x":1}`,
		})
		require.NoError(t, err)
		require.NotZero(t, j.ID)
		require.Equal(t, jobs.StateQueued, j.State)

		var run *jobs.Run
		select {
		case run = <-ran:
		case <-time.After(20 * time.Second):
			t.Fatal("the job did not run")
		}
		require.False(t, run.Resumed)
		require.True(t, run.Background)
		require.Equal(t, j.ID, run.Job.ID)

		got := waitState(t, st, j.ID, jobs.StateSucceeded)
		// The record written in Enqueue's transaction reads back through the store.
		require.Equal(t, "echo", got.Kind)
		require.Equal(t, "echo hello", got.Command)
		require.Equal(t, map[string]string{"what": "hello"}, got.Args)
		require.Equal(t, "alice", got.UserName)
		require.Equal(t, "test:ops", got.Room)
		require.Equal(t, `{"x":1}`, got.Payload)
		require.False(t, got.Resumable)
		require.False(t, got.Started.IsZero())
		require.False(t, got.Finished.Before(got.Started))
		require.Contains(t, got.ThreadRef, `"id":"p1"`)

		log, err := st.JobLog(t.Context(), j.ID)
		require.NoError(t, err)
		require.Equal(t, "password [redacted]\n", string(log))

		posts := p.all()
		require.Len(t, posts, 2)
		require.Equal(t, room.Adapter, posts[0].Room.Adapter)
		require.Equal(t, room.ID, posts[0].Room.ID)
		require.Equal(t, fmt.Sprintf("started job #%d", j.ID), posts[0].Post.Text)
		require.Equal(t, "p1", posts[1].Parent.ID, "later posts go in the job's thread")

		require.Equal(t, 1.0, counter(t, reg, "echo", jobs.StateSucceeded))
		require.Equal(t, 0.0, gauge(t, reg))
		require.Equal(t, uint64(1), histogramCount(t, reg, "echo"))
	})
}

func TestOutcomes(t *testing.T) {
	st := databases[0].open(t)
	type outcome struct {
		exit int
		err  error
	}
	kinds := map[string]outcome{
		"ok":      {0, nil},
		"exit2":   {2, errors.New("exit status 2")},
		"timeout": {-1, fmt.Errorf("killed: %w after 5m", jobs.ErrTimeout)},
		"panic":   {},
	}
	var ks []jobs.Kind
	for name, o := range kinds {
		ks = append(ks, jobs.Kind{Name: name, Run: func(ctx context.Context, run *jobs.Run) error {
			if name == "panic" {
				panic("boom")
			}
			run.SetExitCode(o.exit)
			return o.err
		}})
	}
	reg := prometheus.NewRegistry()
	r := newRunner(t, st, runnerOpts{reg: reg}, ks...)
	for _, tc := range []struct {
		kind, state string
		exit        int
		errText     string
	}{
		{"ok", jobs.StateSucceeded, 0, ""},
		{"exit2", jobs.StateFailed, 2, "exit status 2"},
		{"timeout", jobs.StateTimeout, -1, "killed: timed out after 5m"},
		{"panic", jobs.StateFailed, 0, "internal error in job kind panic (panic: boom)"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			for _, background := range []bool{true, false} {
				var got store.Job
				if background {
					j, err := r.Enqueue(t.Context(), tc.kind, store.Job{Command: tc.kind, Room: "test:ops"})
					require.NoError(t, err)
					got = waitState(t, st, j.ID, tc.state)
				} else {
					final, runErr := r.RunForeground(t.Context(), tc.kind, store.Job{Command: tc.kind, Room: "test:ops"})
					require.Equal(t, tc.errText != "", runErr != nil, "run error %v", runErr)
					require.Equal(t, tc.state, final.State)
					var err error
					got, err = st.Job(t.Context(), final.ID)
					require.NoError(t, err)
				}
				require.Equal(t, tc.state, got.State)
				require.Equal(t, tc.exit, got.ExitCode)
				require.Equal(t, tc.errText, got.Error)
			}
			require.Equal(t, 2.0, counter(t, reg, tc.kind, tc.state))
		})
	}
	_, err := r.Enqueue(t.Context(), "nope", store.Job{})
	require.ErrorIs(t, err, jobs.ErrUnknownKind)
	_, err = r.RunForeground(t.Context(), "nope", store.Job{})
	require.ErrorIs(t, err, jobs.ErrUnknownKind)
}

// blocker is a kind whose runs wait for their context and report the cause.
type blocker struct {
	started chan int64
	causes  chan error
}

func newBlocker() *blocker {
	return &blocker{started: make(chan int64, 10), causes: make(chan error, 10)}
}

func (b *blocker) kind(name string, resumable bool) jobs.Kind {
	return jobs.Kind{Name: name, Resumable: resumable, Run: func(ctx context.Context, run *jobs.Run) error {
		b.started <- run.ID()
		<-ctx.Done()
		b.causes <- context.Cause(ctx)
		return ctx.Err()
	}}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestCancel(t *testing.T) {
	forEachDB(t, func(t *testing.T, db database) {
		st := db.open(t)
		b := newBlocker()
		reg := prometheus.NewRegistry()
		r := newRunner(t, st, runnerOpts{reg: reg, workers: 1}, b.kind("block", false))
		ctx := t.Context()

		first, err := r.Enqueue(ctx, "block", store.Job{Command: "first", Room: "test:ops"})
		require.NoError(t, err)
		require.Equal(t, first.ID, recv(t, b.started, "the first job to start"))
		waitState(t, st, first.ID, jobs.StateRunning)
		require.Equal(t, 1.0, gauge(t, reg))

		// One worker: the second job waits in the queue, and cancelled
		// there it never runs.
		second, err := r.Enqueue(ctx, "block", store.Job{Command: "second", Room: "test:ops"})
		require.NoError(t, err)
		require.NoError(t, r.Cancel(ctx, second.ID))
		got := waitState(t, st, second.ID, jobs.StateCancelled)
		require.Equal(t, "cancelled before it ran", got.Error)

		require.NoError(t, r.Cancel(ctx, first.ID))
		require.ErrorIs(t, recv(t, b.causes, "the first job to end"), jobs.ErrCancelled)
		waitState(t, st, first.ID, jobs.StateCancelled)

		require.ErrorIs(t, r.Cancel(ctx, first.ID), jobs.ErrFinished)
		require.ErrorIs(t, r.Cancel(ctx, first.ID+100), store.ErrNotFound)

		// A third job runs on the freed worker: the cancelled one never did.
		third, err := r.Enqueue(ctx, "block", store.Job{Command: "third", Room: "test:ops"})
		require.NoError(t, err)
		require.Equal(t, third.ID, recv(t, b.started, "the third job to start"))
		require.NoError(t, r.Cancel(ctx, third.ID))
		waitState(t, st, third.ID, jobs.StateCancelled)
		require.Equal(t, 3.0, counter(t, reg, "block", jobs.StateCancelled))
	})
}

func TestCancelForeground(t *testing.T) {
	st := databases[0].open(t)
	b := newBlocker()
	r := newRunner(t, st, runnerOpts{}, b.kind("block", false))
	type result struct {
		j   store.Job
		err error
	}
	done := make(chan result, 1)
	go func() {
		j, err := r.RunForeground(t.Context(), "block", store.Job{Command: "fg", Room: "test:ops", UserName: "bob"})
		done <- result{j, err}
	}()
	id := recv(t, b.started, "the foreground run")
	listed, err := st.ListJobs(t.Context(), store.JobFilter{States: []string{jobs.StateRunning}})
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, id, listed[0].ID)
	require.Equal(t, "bob", listed[0].UserName)
	require.Equal(t, []int64{id}, r.Running())

	require.NoError(t, r.Cancel(t.Context(), id))
	res := recv(t, done, "the foreground run to end")
	require.Error(t, res.err)
	require.Equal(t, jobs.StateCancelled, res.j.State)
	waitState(t, st, id, jobs.StateCancelled)
}

// TestStop: stopping the runner stops running jobs; a resumable one runs
// again at the next start, the others are marked interrupted and their rooms
// told.
func TestStop(t *testing.T) {
	forEachDB(t, func(t *testing.T, db database) {
		url, dir := db.url(t)
		st := openStore(t, url, dir)
		p := newPoster()
		b := newBlocker()
		r := jobs.New(jobs.Options{Store: st, Poster: p, Logger: testLogger(t), PollInterval: 100 * time.Millisecond})
		require.NoError(t, r.Register(b.kind("once", false)))
		require.NoError(t, r.Register(b.kind("again", true)))
		require.NoError(t, r.Start(t.Context()))
		ctx := t.Context()

		once, err := r.Enqueue(ctx, "once", store.Job{Command: "backup", Room: "test:ops"})
		require.NoError(t, err)
		again, err := r.Enqueue(ctx, "again", store.Job{Command: "sync", Room: "test:ops"})
		require.NoError(t, err)
		started := map[int64]bool{}
		started[recv(t, b.started, "a job")] = true
		started[recv(t, b.started, "a job")] = true
		require.Equal(t, map[int64]bool{once.ID: true, again.ID: true}, started)
		waitState(t, st, once.ID, jobs.StateRunning)
		waitState(t, st, again.ID, jobs.StateRunning)

		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		require.NoError(t, r.Stop(sctx))
		require.ErrorIs(t, <-b.causes, jobs.ErrShutdown)
		require.ErrorIs(t, <-b.causes, jobs.ErrShutdown)

		got, err := st.Job(ctx, once.ID)
		require.NoError(t, err)
		require.Equal(t, jobs.StateInterrupted, got.State)
		got, err = st.Job(ctx, again.ID)
		require.NoError(t, err)
		require.Equal(t, jobs.StateRunning, got.State, "a resumable job stays running until it resumes")
		texts := p.texts()
		require.Contains(t, texts, fmt.Sprintf("job #%d (`backup`) was interrupted by a restart; it did not finish.", once.ID))
		require.Contains(t, texts, fmt.Sprintf("job #%d (`sync`) was stopped by a restart; it will resume when opsbot is back.", again.ID))
		_, err = r.Enqueue(ctx, "once", store.Job{})
		require.ErrorIs(t, err, jobs.ErrNotStarted)

		// The next runner resumes the resumable job.
		resumed := make(chan bool, 1)
		r2 := newRunner(t, st, runnerOpts{poster: p},
			jobs.Kind{Name: "once", Run: func(context.Context, *jobs.Run) error {
				t.Error("an interrupted job ran again")
				return nil
			}},
			jobs.Kind{Name: "again", Resumable: true, Run: func(_ context.Context, run *jobs.Run) error {
				resumed <- run.Resumed
				return nil
			}})
		require.True(t, recv(t, resumed, "the resumable job to resume"))
		waitState(t, st, again.ID, jobs.StateSucceeded)
		_ = r2
	})
}

// metric is the value of the series of name with labels in reg (0 if none).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue series
				}
			}
			return s.GetCounter().GetValue() + s.GetGauge().GetValue()
		}
	}
	return 0
}

func counter(t *testing.T, reg *prometheus.Registry, kind, state string) float64 {
	t.Helper()
	return metric(t, reg, "opsbot_jobs_total", map[string]string{"kind": kind, "state": state})
}

func gauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	return metric(t, reg, "opsbot_jobs_running", nil)
}

func histogramCount(t *testing.T, reg *prometheus.Registry, kind string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "opsbot_job_duration_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				if lp.GetName() == "kind" && lp.GetValue() == kind {
					return s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}
