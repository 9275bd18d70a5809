package jobs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/store"
)

// crashHelperEnv carries the crash helper's instructions (JSON crashSpec).
const crashHelperEnv = "OPSBOT_JOBS_CRASH_HELPER"

type crashSpec struct {
	URL, Dir, Kind string
}

// TestCrashHelper is the process TestCrashRecovery kills: it starts a runner,
// enqueues a job of the kind it is told, prints "running ID" once the job
// runs, and waits to be killed.
func TestCrashHelper(t *testing.T) {
	raw := os.Getenv(crashHelperEnv)
	if raw == "" {
		t.Skip("the process TestCrashRecovery starts and kills")
	}
	var spec crashSpec
	require.NoError(t, json.Unmarshal([]byte(raw), &spec))
	st := openStore(t, spec.URL, spec.Dir)
	block := func(ctx context.Context, run *jobs.Run) error {
		fmt.Printf("running %d\n", run.ID())
		<-ctx.Done()
		return ctx.Err()
	}
	r := jobs.New(jobs.Options{Store: st, Logger: testLogger(t), PollInterval: 100 * time.Millisecond})
	require.NoError(t, r.Register(jobs.Kind{Name: "once", Run: block}))
	require.NoError(t, r.Register(jobs.Kind{Name: "again", Resumable: true, Run: block}))
	require.NoError(t, r.Start(t.Context()))
	_, err := r.Enqueue(t.Context(), spec.Kind, store.Job{Command: "sleep 30", Room: "test:ops", UserName: "alice"})
	require.NoError(t, err)
	select {
	case <-time.After(time.Minute):
		t.Fatal("not killed within a minute")
	case <-t.Context().Done():
	}
}

// TestCrashRecovery kills (SIGKILL) a process while its job runs and starts
// a runner again on the same database: a non-resumable job is marked
// interrupted and its room told, a resumable one runs again.
func TestCrashRecovery(t *testing.T) {
	forEachDB(t, func(t *testing.T, db database) {
		for _, kind := range []string{"once", "again"} {
			t.Run(kind, func(t *testing.T) {
				url, dir := db.url(t)
				id := runAndKill(t, crashSpec{URL: url, Dir: dir, Kind: kind})
				st := openStore(t, url, dir)
				got, err := st.Job(t.Context(), id)
				require.NoError(t, err)
				require.Equal(t, jobs.StateRunning, got.State, "the killed process could not record anything")

				p := newPoster()
				resumed := make(chan bool, 1)
				r := newRunner(t, st, runnerOpts{poster: p},
					jobs.Kind{Name: "once", Run: func(context.Context, *jobs.Run) error {
						t.Error("an interrupted job ran again")
						return nil
					}},
					jobs.Kind{Name: "again", Resumable: true, Run: func(_ context.Context, run *jobs.Run) error {
						resumed <- run.Resumed
						return nil
					}})

				if kind == "again" {
					require.True(t, recv(t, resumed, "the job to resume"))
					waitState(t, st, id, jobs.StateSucceeded)
					return
				}
				// Start recovered it before returning: no waiting needed.
				got, err = st.Job(t.Context(), id)
				require.NoError(t, err)
				require.Equal(t, jobs.StateInterrupted, got.State)
				require.Equal(t, "interrupted by a restart", got.Error)
				require.False(t, got.Finished.IsZero())
				posts := p.all()
				require.Len(t, posts, 1)
				require.Equal(t, "test", posts[0].Room.Adapter)
				require.Equal(t, "ops", posts[0].Room.ID)
				require.Equal(t, fmt.Sprintf("job #%d (`sleep 30`) was interrupted by a restart; it did not finish.", id), posts[0].Post.Text)
				// River won't run it again: marked for cancellation, which its
				// stuck-job rescuer turns into "cancelled".
				row, err := r.RiverJob(t.Context(), id)
				require.NoError(t, err)
				require.NotNil(t, row)
				require.Contains(t, string(row.Metadata), "cancel_attempted_at")
			})
		}
	})
}

// runAndKill starts the crash helper, waits until its job runs, SIGKILLs it
// and returns the job's ID.
func runAndKill(t *testing.T, spec crashSpec) int64 {
	t.Helper()
	raw, err := json.Marshal(spec)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+string(raw))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	var id int64
	for id == 0 {
		select {
		case line, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("the helper ended before its job ran:\n%s", stderr.String())
			}
			if rest, ok := strings.CutPrefix(line, "running "); ok {
				id, err = strconv.ParseInt(rest, 10, 64)
				require.NoError(t, err)
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the helper's job did not start:\n%s", stderr.String())
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err = cmd.Wait()
	require.Error(t, err, "killed")
	go func() {
		for range lines {
		}
	}()
	return id
}
