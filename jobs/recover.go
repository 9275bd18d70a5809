package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/opsbot/opsbot/store"
)

// Recover finds the jobs that a process which is gone left queued or
// running, and deals with each: a resumable background job runs again, any
// other running job is marked interrupted (its room is told) and its River
// job dropped, a queued job that lost its River job is queued again. Start
// calls it before working, then every LeaseTTL (for replicas that died).
func (r *Runner) Recover(ctx context.Context) error {
	r.mu.Lock()
	q := r.q
	r.mu.Unlock()
	if q == nil {
		return ErrNotStarted
	}
	recs, err := r.st.ListJobs(ctx, store.JobFilter{States: []string{StateQueued, StateRunning}, Limit: 1000})
	if err != nil {
		return fmt.Errorf("recover jobs: %w", err)
	}
	var errs []error
	for _, rec := range recs {
		if err := r.recoverOne(ctx, q, rec); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("recover jobs: %w", err)
	}
	return nil
}

func (r *Runner) recoverOne(ctx context.Context, q queue, rec store.Job) error {
	r.mu.Lock()
	_, here := r.active[rec.ID]
	r.mu.Unlock()
	if here {
		return nil
	}
	lease, err := r.lease(ctx, rec.ID)
	if err != nil {
		return err
	}
	if lease == leaseLive {
		return nil
	}
	row, err := q.find(ctx, rec.ID)
	if err != nil {
		return err
	}
	if rec.State == StateQueued {
		if row == nil {
			// Can't happen (Enqueue writes both at once) unless River's
			// tables were reset: queue it again, it never ran.
			r.log.Warn("queued job without a river job; queued again", "job", rec.ID)
			return q.requeue(ctx, rec.ID, rec.Kind, nil)
		}
		switch row.State {
		case rivertype.JobStateCancelled:
			rec.State, rec.Finished, rec.Error = StateCancelled, r.clock.Now(), "cancelled before it ran"
			if ok, err := finishIfActive(ctx, r.st, rec); err != nil || !ok {
				return err
			}
			r.metrics.total.WithLabelValues(rec.Kind, StateCancelled).Inc()
		case rivertype.JobStateRunning:
			// A worker took it but never started it. Give a live one time
			// to record the start before deciding it died.
			if row.AttemptedAt != nil && time.Since(*row.AttemptedAt) < r.leaseTTL {
				return nil
			}
			r.log.Warn("queued job whose worker died before starting it; queued again", "job", rec.ID)
			return q.requeue(ctx, rec.ID, rec.Kind, row)
		case rivertype.JobStateCompleted, rivertype.JobStateDiscarded:
			return q.requeue(ctx, rec.ID, rec.Kind, row)
		}
		return nil
	}

	// Running, and no live process holds it.
	if lease == leaseNone && r.clock.Now().Sub(rec.Started) < r.leaseTTL {
		// Just started: its worker may not have taken the lease yet.
		return nil
	}
	k, known := r.Kind(rec.Kind)
	if known && k.Abandoned != nil {
		k.Abandoned(ctx, rec)
	}
	if known && k.Resumable && row != nil {
		r.log.Info("resuming a job a stopped process left running", "job", rec.ID, "kind", rec.Kind)
		return q.requeue(ctx, rec.ID, rec.Kind, row)
	}
	r.interrupt(ctx, rec)
	if row != nil {
		return q.drop(ctx, row)
	}
	return nil
}

func (r *Runner) recoverLoop(ctx context.Context) {
	defer r.loops.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.stopCh:
			return
		case <-r.clock.After(r.leaseTTL):
			if err := r.Recover(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("recover jobs", "err", err)
			}
		}
	}
}
