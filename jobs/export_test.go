package jobs

import (
	"context"

	"github.com/riverqueue/river/rivertype"
)

// RiverJob returns the River job of record id (nil if none), for tests.
func (r *Runner) RiverJob(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	r.mu.Lock()
	q := r.q
	r.mu.Unlock()
	return q.find(ctx, id)
}
