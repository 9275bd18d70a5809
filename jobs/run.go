package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store"
)

// Run is one run of a job: its record and what the kind's Run function may
// do with it.
type Run struct {
	// Job is the job record as it was when the run began.
	Job store.Job
	// Resumed is set when the job runs again after a restart interrupted it.
	Resumed bool
	// Background is set for a job run from the queue (Enqueue), unset for a
	// foreground run (RunForeground).
	Background bool
	// Started is when this run began, on the runner's clock.
	Started time.Time

	r    *Runner
	room chat.Room

	mu       sync.Mutex
	thread   chat.Ref
	exitCode int
}

func newRun(r *Runner, j store.Job, background, resumed bool) *Run {
	run := &Run{Job: j, Resumed: resumed, Background: background, Started: r.clock.Now(), r: r, room: ParseRoom(j.Room)}
	if ref, ok := decodeRef(j.ThreadRef); ok {
		run.thread = ref
		if ref.Room.Adapter == run.room.Adapter && ref.Room.ID == run.room.ID {
			run.room = ref.Room // keeps the room's display name
		}
	}
	return run
}

func decodeRef(s string) (chat.Ref, bool) {
	if s == "" {
		return chat.Ref{}, false
	}
	var ref chat.Ref
	if err := json.Unmarshal([]byte(s), &ref); err != nil || ref.IsZero() {
		return chat.Ref{}, false
	}
	return ref, true
}

// ID is the job's ID.
func (r *Run) ID() int64 { return r.Job.ID }

// Room is the room the job reports to.
func (r *Run) Room() chat.Room { return r.room }

// Thread is the post the job reports under, if it has one yet.
func (r *Run) Thread() chat.Ref {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.thread
}

// SetThread records the post the job reports under (its "started" post), in
// the job record too, so a resumed run and the console find it.
func (r *Run) SetThread(ctx context.Context, ref chat.Ref) error {
	r.mu.Lock()
	r.thread = ref
	r.mu.Unlock()
	b, err := json.Marshal(ref)
	if err != nil {
		return fmt.Errorf("job %d: thread: %w", r.Job.ID, err)
	}
	r.Job.ThreadRef = string(b)
	// Recorded even as the run is being stopped: a resumed run needs it.
	if err := setThreadRef(context.WithoutCancel(ctx), r.r.st, r.Job.ID, string(b)); err != nil {
		return fmt.Errorf("job %d: thread: %w", r.Job.ID, err)
	}
	return nil
}

// Post posts in the job's thread, or in its room while it has none.
func (r *Run) Post(ctx context.Context, p chat.Post) (chat.Ref, error) {
	if r.r.poster == nil {
		return chat.Ref{}, fmt.Errorf("job %d: no poster", r.Job.ID)
	}
	if th := r.Thread(); !th.IsZero() {
		return r.r.poster.PostInThread(ctx, th, p)
	}
	return r.r.poster.Post(ctx, r.room, p)
}

// PostRoom posts in the job's room, outside its thread.
func (r *Run) PostRoom(ctx context.Context, p chat.Post) (chat.Ref, error) {
	if r.r.poster == nil {
		return chat.Ref{}, fmt.Errorf("job %d: no poster", r.Job.ID)
	}
	return r.r.poster.Post(ctx, r.room, p)
}

// Log appends chunk to the job's log, with known secrets masked. Masking
// works on whole chunks: pass whole lines so no secret is split.
func (r *Run) Log(ctx context.Context, chunk []byte) error {
	if len(chunk) == 0 {
		return nil
	}
	if r.r.redactor != nil {
		chunk = []byte(r.r.redactor.String(string(chunk)))
	}
	if err := r.r.st.AppendJobLog(ctx, r.Job.ID, chunk); err != nil {
		return fmt.Errorf("job %d: log: %w", r.Job.ID, err)
	}
	return nil
}

// SetExitCode records the exit status of the program the job ran.
func (r *Run) SetExitCode(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exitCode = code
}

func (r *Run) exit() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exitCode
}

// Clock is the runner's clock.
func (r *Run) Clock() clock.Clock { return r.r.clock }

// Logger logs with the job's ID and kind.
func (r *Run) Logger() *slog.Logger { return r.r.log.With("job", r.Job.ID, "kind", r.Job.Kind) }
