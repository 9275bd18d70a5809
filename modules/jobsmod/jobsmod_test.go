package jobsmod_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/modules/jobsmod"
	"github.com/opsbot/opsbot/store"
)

// workModule starts jobs: `block` runs until cancelled, `noisy` logs a lot
// and fails.
type workModule struct{ started chan int64 }

func (*workModule) Name() string { return "work" }

func (w *workModule) Provision(h *bot.Host) error {
	if err := h.Job(jobs.Kind{Name: "work.block", Run: func(ctx context.Context, r *jobs.Run) error {
		w.started <- r.ID()
		<-ctx.Done()
		return ctx.Err()
	}}); err != nil {
		return err
	}
	if err := h.Job(jobs.Kind{Name: "work.noisy", Run: func(ctx context.Context, r *jobs.Run) error {
		var b strings.Builder
		for i := 1; i <= 500; i++ {
			fmt.Fprintf(&b, "noise %d\n", i)
		}
		if err := r.Log(ctx, []byte(b.String())); err != nil {
			return err
		}
		r.SetExitCode(2)
		return errors.New("exit status 2")
	}}); err != nil {
		return err
	}
	for _, kind := range []string{"block", "noisy"} {
		if err := h.Command(command.Spec{Name: kind, Grammar: kind, SideEffects: true, Run: func(ctx context.Context, c *command.Call) error {
			j, err := h.Jobs().Enqueue(ctx, "work."+kind, store.Job{Command: c.Text, UserName: c.User.Name, Room: jobs.RoomKey(c.Msg.Room)})
			if err != nil {
				return err
			}
			return c.Replyf(ctx, "queued job #%d", j.ID)
		}}); err != nil {
			return err
		}
	}
	return nil
}

func waitState(t *testing.T, b *bottest.Bot, id int64, state string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := b.Store.Job(b.Ctx, id)
		require.NoError(t, err)
		if j.State == state {
			return
		}
		require.True(t, time.Now().Before(deadline), "job %d is %s, not %s", id, j.State, state)
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJobsCommands(t *testing.T) {
	w := &workModule{started: make(chan int64, 10)}
	b := bottest.New(t, bottest.Modules(jobsmod.New(), w))
	b.User("alice")
	b.User("bob")
	b.User("carol")
	b.User("root", "admins")
	b.Grant("block", "group:everyone")
	b.Grant("noisy", "group:everyone")
	b.Grant(jobsmod.CancelPermission, "user:carol")

	require.Equal(t, "No job is running.", b.Say("alice", "ops", "jobs"))
	require.Equal(t, "queued job #1", b.Say("alice", "ops", "noisy"))
	waitState(t, b, 1, jobs.StateFailed)
	require.Equal(t, "queued job #2", b.Say("alice", "ops", "block"))
	require.EqualValues(t, 2, <-w.started)
	waitState(t, b, 2, jobs.StateRunning)
	b.Clock.Advance(90 * time.Second)

	list := b.Say("bob", "ops", "jobs")
	require.Equal(t, "Running (1):\n- #2 running for 1m30s — `block` (alice)\nRecent:\n- #1 failed (exit 2) after 0s — `noisy` (alice)", list)

	show := b.Say("bob", "ops", "job 1")
	require.Contains(t, show, "job #1 `noisy`: failed (exit 2) after 0s\nstarted by alice in test:ops at 2026-11-22 09:00:00 UTC\nerror: exit status 2")
	require.Contains(t, show, "the last ")
	require.Contains(t, show, "noise 500\n```")
	require.NotContains(t, show, "noise 1\n")
	require.Equal(t, "There is no job #9.", b.Say("bob", "ops", "job 9"))

	// Permissions: bob may not cancel alice's job; alice, carol (jobs:cancel) and root (admin) may.
	require.Contains(t, b.Say("bob", "ops", "cancel job 2"), "needs the permission `jobs:cancel`")
	require.Contains(t, b.Say("alice", "ops", "cancel job 2"), "Cancelling job #2 (`block`).")
	waitState(t, b, 2, jobs.StateCancelled)
	require.Contains(t, b.Say("alice", "ops", "cancel job 1"), "job #1 (`noisy`) has already ended: failed (exit 2)")

	for i, who := range []string{"carol", "root"} {
		id := int64(3 + i)
		require.Equal(t, fmt.Sprintf("queued job #%d", id), b.Say("alice", "ops", "block"))
		require.Equal(t, id, <-w.started)
		require.Contains(t, b.Say(who, "ops", fmt.Sprintf("cancel job %d", id)), fmt.Sprintf("Cancelling job #%d", id))
		waitState(t, b, id, jobs.StateCancelled)
	}
	require.Contains(t, b.Say("alice", "ops", "help cancel"), "one you started, or anyone's with the permission `jobs:cancel`")
}
