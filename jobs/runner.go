package jobs

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/store"
)

// stopBudget bounds a stop triggered by the end of Start's context.
const stopBudget = 30 * time.Second

// Start applies River's migrations to the store's database, recovers the
// jobs a previous process left running (resuming the resumable ones, marking
// the others interrupted and telling their rooms) and starts working.
// Cancelling ctx stops the runner as Stop does; call Stop before closing the
// store.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("job runner already started")
	}
	r.mu.Unlock()
	q, err := newQueue(ctx, r)
	if err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	r.mu.Lock()
	r.q = q
	r.started = true
	r.mu.Unlock()
	if err := r.Recover(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	// River runs until Stop, not until ctx ends, so that running jobs are
	// wound down the same way however the runner stops.
	if err := q.start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	r.loops.Add(1)
	go r.recoverLoop(ctx)
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), stopBudget)
			defer cancel()
			if err := r.Stop(sctx); err != nil {
				r.log.Error("stop jobs", "err", err)
			}
		case <-r.stopCh:
		}
	}()
	return nil
}

// Stop stops the runner. Running jobs are stopped at once (their contexts end
// with cause ErrShutdown and their programs are killed): a resumable job runs
// again at the next start, any other is marked interrupted and its room told.
// Stop waits for that until ctx ends.
func (r *Runner) Stop(ctx context.Context) error {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	r.mu.Lock()
	if r.stopped || !r.started {
		r.stopped = true
		r.mu.Unlock()
		return r.stopErr
	}
	r.stopped = true
	close(r.stopCh)
	for _, a := range r.active {
		a.cancel(ErrShutdown)
	}
	q := r.q
	r.mu.Unlock()

	err := q.stop(ctx)
	if err != nil {
		err = errors.Join(err, q.hardStop(context.WithoutCancel(ctx)))
	}
	done := make(chan struct{})
	go func() {
		r.runs.Wait()
		r.loops.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("jobs still running: %w", ctx.Err()))
	}
	if err != nil {
		r.stopErr = fmt.Errorf("stop jobs: %w", err)
	}
	return r.stopErr
}

func (r *Runner) isStopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// Enqueue creates the job record of j (Kind is set to kind, State to
// queued) and its River job in one transaction, and returns the record. The
// job runs in the background, here or on another replica.
func (r *Runner) Enqueue(ctx context.Context, kind string, j store.Job) (store.Job, error) {
	k, ok := r.Kind(kind)
	if !ok {
		return store.Job{}, fmt.Errorf("enqueue %s: %w", kind, ErrUnknownKind)
	}
	r.mu.Lock()
	q, stopped := r.q, r.stopped
	r.mu.Unlock()
	if q == nil || stopped {
		return store.Job{}, fmt.Errorf("enqueue %s: %w", kind, ErrNotStarted)
	}
	j.Kind, j.State, j.Resumable = k.Name, StateQueued, k.Resumable
	j.Started, j.Finished, j.ExitCode, j.Error = r.clock.Now().UTC().Truncate(time.Millisecond), time.Time{}, 0, ""
	id, err := q.enqueue(ctx, j)
	if err != nil {
		return store.Job{}, fmt.Errorf("enqueue %s: %w", kind, err)
	}
	j.ID = id
	if len(j.Args) == 0 {
		j.Args = nil
	}
	r.log.Info("job queued", "job", id, "kind", kind, "user", j.UserName)
	return j, nil
}

// RunForeground runs a job of kind now, in the caller's goroutine, with a
// job record like a background job's (so it is listed, logged, cancellable
// and, if opsbot stops meanwhile, marked interrupted). It returns the final
// record and the error the kind's Run returned.
func (r *Runner) RunForeground(ctx context.Context, kind string, j store.Job) (store.Job, error) {
	k, ok := r.Kind(kind)
	if !ok {
		return store.Job{}, fmt.Errorf("run %s: %w", kind, ErrUnknownKind)
	}
	if r.isStopping() {
		return store.Job{}, fmt.Errorf("run %s: %w", kind, ErrShutdown)
	}
	j.Kind, j.State, j.Resumable = k.Name, StateRunning, false
	j.Started, j.Finished, j.ExitCode, j.Error = r.clock.Now(), time.Time{}, 0, ""
	rec, err := r.st.CreateJob(ctx, j)
	if err != nil {
		return store.Job{}, fmt.Errorf("run %s: %w", kind, err)
	}
	final, runErr, _ := r.execute(ctx, k, rec, false, false)
	return final, runErr
}

// Cancel stops job id: a queued job never runs, a running one has its
// context cancelled (cause ErrCancelled; here, or through River on the
// replica that runs it) and ends "cancelled". It returns an error wrapping
// store.ErrNotFound for no such job and ErrFinished for one that ended.
func (r *Runner) Cancel(ctx context.Context, id int64) error {
	rec, err := r.st.Job(ctx, id)
	if err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	if Finished(rec.State) {
		return fmt.Errorf("cancel job %d: %w (%s)", id, ErrFinished, rec.State)
	}
	r.mu.Lock()
	a, local := r.active[id]
	q := r.q
	r.mu.Unlock()
	if local {
		a.cancel(ErrCancelled)
		return nil
	}
	var row *rivertype.JobRow
	if q != nil {
		if row, err = q.find(ctx, id); err != nil {
			return fmt.Errorf("cancel job %d: %w", id, err)
		}
	}
	if row != nil {
		if row, err = q.cancel(ctx, row.ID); err != nil {
			return fmt.Errorf("cancel job %d: %w", id, err)
		}
		if row.State == rivertype.JobStateRunning {
			lease, err := r.lease(ctx, id)
			if err != nil {
				return fmt.Errorf("cancel job %d: %w", id, err)
			}
			starting := lease == leaseNone && (rec.State == StateQueued || r.clock.Now().Sub(rec.Started) < r.leaseTTL)
			if lease == leaseLive || starting {
				// The worker running it (here or on another replica) gets
				// the cancellation through River and records the outcome.
				return nil
			}
		}
	} else if rec.State == StateRunning {
		held, err := r.leaseHeld(ctx, id)
		if err != nil {
			return fmt.Errorf("cancel job %d: %w", id, err)
		}
		if held {
			return fmt.Errorf("cancel job %d: %w", id, ErrElsewhere)
		}
	}
	// Nobody runs it: record the cancellation here.
	if k, ok := r.Kind(rec.Kind); ok && k.Abandoned != nil && rec.State == StateRunning {
		k.Abandoned(ctx, rec)
	}
	if rec.State == StateQueued {
		rec.Error = "cancelled before it ran"
	} else {
		rec.Error = "cancelled; the process running it had stopped"
	}
	rec.State, rec.Finished = StateCancelled, r.clock.Now()
	ok, err := finishIfActive(ctx, r.st, rec)
	if err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	if ok {
		r.metrics.total.WithLabelValues(rec.Kind, StateCancelled).Inc()
		r.log.Info("job cancelled", "job", id, "kind", rec.Kind)
	}
	return nil
}

// work runs the job of a River job.
func (r *Runner) work(ctx context.Context, id int64) error {
	rec, err := r.st.Job(context.WithoutCancel(ctx), id)
	if errors.Is(err, store.ErrNotFound) {
		r.log.Warn("river job without a job record; dropped", "job", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("job %d: %w", id, err)
	}
	if Finished(rec.State) {
		return nil // cancelled before it ran, or interrupted and dropped
	}
	if rec.State == StateQueued && ctx.Err() != nil && classify(ctx, ctx.Err()) == StateCancelled {
		// Cancelled just as a worker took it: nothing ran.
		rec.State, rec.Finished, rec.Error = StateCancelled, r.clock.Now(), "cancelled before it ran"
		if ok, err := finishIfActive(context.WithoutCancel(ctx), r.st, rec); err != nil {
			return err
		} else if ok {
			r.metrics.total.WithLabelValues(rec.Kind, StateCancelled).Inc()
			r.log.Info("job cancelled", "job", id, "kind", rec.Kind)
		}
		return nil
	}
	k, ok := r.Kind(rec.Kind)
	if !ok {
		rec.State, rec.Finished, rec.Error = StateFailed, r.clock.Now(), fmt.Sprintf("job kind %q is not known to this opsbot (removed from the config?)", rec.Kind)
		if done, ferr := finishIfActive(ctx, r.st, rec); ferr != nil {
			return ferr
		} else if done {
			r.metrics.total.WithLabelValues(rec.Kind, StateFailed).Inc()
			r.notify(ctx, rec, fmt.Sprintf("job #%d (`%s`) could not run: %s.", rec.ID, rec.Command, rec.Error))
		}
		return nil
	}
	resumed := rec.State == StateRunning
	if resumed {
		held, err := r.leaseHeld(ctx, id)
		if err != nil {
			return fmt.Errorf("job %d: %w", id, err)
		}
		if held {
			// Still running elsewhere (a duplicate River job after a
			// rescue): look again once that lease could have run out.
			return river.JobSnooze(r.leaseTTL)
		}
		if k.Abandoned != nil {
			k.Abandoned(ctx, rec)
		}
		if !k.Resumable {
			r.interrupt(ctx, rec)
			return nil
		}
	}
	if r.isStopping() {
		return river.JobSnooze(0) // not started: run it at the next start
	}
	ok, err = markRunningCAS(ctx, r, rec)
	if err != nil {
		return err
	}
	if !ok {
		return nil // cancelled meanwhile, or another worker took the resume
	}
	_, _, shutdown := r.execute(ctx, k, rec, true, resumed)
	if shutdown && k.Resumable {
		// Stopped by a restart: run again when a runner is back.
		return river.JobSnooze(0)
	}
	return nil
}

// execute runs a job whose record is running, and records how it ended. It
// reports whether the run was stopped by shutdown with the job left to
// resume.
func (r *Runner) execute(ctx context.Context, k Kind, rec store.Job, background, resumed bool) (store.Job, error, bool) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	run := newRun(r, rec, background, resumed)
	r.mu.Lock()
	if r.stopped {
		// Stop has already stopped the runs it knew: this one ends at once.
		cancel(ErrShutdown)
	}
	r.active[rec.ID] = &active{cancel: cancel, run: run}
	r.runs.Add(1)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.active, rec.ID)
		r.mu.Unlock()
		r.runs.Done()
	}()
	if err := r.takeLease(ctx, rec.ID); err != nil {
		r.log.Warn("job lease", "job", rec.ID, "err", err)
	}
	leaseDone := make(chan struct{})
	go r.renewLease(runCtx, rec.ID, leaseDone)
	r.metrics.running.Inc()
	if resumed {
		r.log.Info("job resumed", "job", rec.ID, "kind", k.Name)
	} else {
		r.log.Info("job started", "job", rec.ID, "kind", k.Name, "background", background)
	}

	runErr := safeRun(runCtx, k, run)
	state := classify(runCtx, runErr)

	r.metrics.running.Dec()
	cancel(nil)
	<-leaseDone
	dur := r.clock.Now().Sub(run.Started)
	r.metrics.duration.WithLabelValues(k.Name).Observe(dur.Seconds())
	fctx := context.WithoutCancel(ctx)
	if state == stateShutdown {
		if background && k.Resumable {
			r.dropLease(fctx, rec.ID)
			r.log.Info("job stopped by shutdown; it resumes at the next start", "job", rec.ID, "kind", k.Name)
			r.notify(fctx, rec, fmt.Sprintf("job #%d (`%s`) was stopped by a restart; it will resume when opsbot is back.", rec.ID, rec.Command))
			rec.State = StateRunning
			return rec, runErr, true
		}
		state = StateInterrupted
	}
	rec.State, rec.Finished, rec.ExitCode = state, r.clock.Now(), run.exit()
	rec.Error = ""
	if runErr != nil && state != StateSucceeded {
		rec.Error = r.mask(runErr.Error())
	}
	if state == StateInterrupted {
		rec.Error = "interrupted by a restart"
	}
	// The first outcome recorded wins: a recovery that judged this run's
	// process dead has already told the room.
	recorded, err := finishIfActive(fctx, r.st, rec)
	r.dropLease(fctx, rec.ID)
	switch {
	case err != nil:
		r.log.Error("record job outcome failed", "job", rec.ID, "state", state, "err", err)
	case !recorded:
		if cur, err := r.st.Job(fctx, rec.ID); err == nil {
			r.log.Warn("job outcome already recorded", "job", rec.ID, "recorded", cur.State, "ours", state)
			return cur, runErr, false
		}
	default:
		r.metrics.total.WithLabelValues(k.Name, state).Inc()
		r.log.Info("job ended", "job", rec.ID, "kind", k.Name, "state", state, "exit", rec.ExitCode, "duration", dur)
		if state == StateInterrupted {
			r.notifyInterrupted(fctx, rec)
		}
	}
	return rec, runErr, false
}

// stateShutdown is classify's answer for a run stopped by shutdown.
const stateShutdown = "shutdown"

// classify turns how a run ended into the record's state.
func classify(ctx context.Context, err error) string {
	if err == nil {
		return StateSucceeded
	}
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		switch {
		case errors.Is(cause, ErrCancelled), errors.Is(cause, rivertype.ErrJobCancelledRemotely):
			return StateCancelled
		case errors.Is(cause, ErrShutdown):
			return stateShutdown
		case !errors.Is(err, ErrTimeout):
			// River stopping hard, or the caller's context ending.
			return stateShutdown
		}
	}
	if errors.Is(err, ErrTimeout) {
		return StateTimeout
	}
	return StateFailed
}

func safeRun(ctx context.Context, k Kind, run *Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			run.Logger().Error("job panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error in job kind %s (panic: %v)", k.Name, p)
		}
	}()
	return k.Run(ctx, run)
}

// renewLease keeps a running job's lease alive until ctx ends.
func (r *Runner) renewLease(ctx context.Context, id int64, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.clock.After(r.leaseTTL / 3):
			if err := r.takeLease(ctx, id); err != nil && ctx.Err() == nil {
				r.log.Warn("renew job lease", "job", id, "err", err)
			}
		}
	}
}

// interrupt marks a job a dead process left behind as interrupted and tells
// its room.
func (r *Runner) interrupt(ctx context.Context, rec store.Job) {
	rec.State, rec.Finished, rec.Error = StateInterrupted, r.clock.Now(), "interrupted by a restart"
	ok, err := finishIfActive(ctx, r.st, rec)
	if err != nil {
		r.log.Error("mark job interrupted failed", "job", rec.ID, "err", err)
		return
	}
	if !ok {
		return // someone else recorded its end
	}
	r.dropLease(ctx, rec.ID)
	r.metrics.total.WithLabelValues(rec.Kind, StateInterrupted).Inc()
	r.log.Warn("job interrupted by a restart", "job", rec.ID, "kind", rec.Kind)
	r.notifyInterrupted(ctx, rec)
}

func (r *Runner) notifyInterrupted(ctx context.Context, rec store.Job) {
	if k, ok := r.Kind(rec.Kind); ok && k.TellsInterruption {
		return
	}
	r.notify(ctx, rec, fmt.Sprintf("job #%d (`%s`) was interrupted by a restart; it did not finish.", rec.ID, rec.Command))
}

// notify posts a notice about a job in its room (not its thread, so the
// room sees it).
func (r *Runner) notify(ctx context.Context, rec store.Job, text string) {
	if r.poster == nil || rec.Room == "" {
		return
	}
	room := ParseRoom(rec.Room)
	if ref, ok := decodeRef(rec.ThreadRef); ok && ref.Room.Adapter == room.Adapter && ref.Room.ID == room.ID {
		room = ref.Room
	}
	if _, err := r.poster.Post(ctx, room, chat.Post{Text: text, Severity: chat.SeverityWarning}); err != nil {
		r.log.Error("job notice not posted", "job", rec.ID, "room", rec.Room, "err", err)
	}
}

// markRunningCAS moves the record to running for this run. For a resume it
// compares the start time it read, so of two workers resuming the same job
// (two replicas recovering at once) only one runs it.
func markRunningCAS(ctx context.Context, r *Runner, rec store.Job) (bool, error) {
	now := r.clock.Now().UnixMilli()
	if rec.State != StateRunning {
		return markRunning(ctx, r.st, rec.ID, now)
	}
	old := millis(rec.Started.UnixMilli(), rec.Started.IsZero())
	res, err := r.st.DB().ExecContext(ctx,
		`UPDATE jobs SET started = $1 WHERE id = $2 AND state = 'running' AND started = $3`,
		max(now, old+1), rec.ID, old)
	if err != nil {
		return false, fmt.Errorf("job %d: resume: %w", rec.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("job %d: resume: %w", rec.ID, err)
	}
	return n == 1, nil
}
