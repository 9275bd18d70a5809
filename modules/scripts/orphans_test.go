package scripts

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/procgroup"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// TestAbandonedProgramIsStopped: the program a dead opsbot left running is
// stopped at the next start, and only that program.
func TestAbandonedProgramIsStopped(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "", t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	m := &Module{st: st, log: slog.New(slog.DiscardHandler), clock: clock.Real{}}
	d := newDef(Command{Name: "x", KillGrace: time.Second}.withDefaults())

	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "300")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	orphan := start()
	m.recordProc(ctx, 7, orphan.Process.Pid)
	exited := make(chan struct{})
	go func() { _ = orphan.Wait(); close(exited) }()

	m.abandoned(d)(ctx, store.Job{ID: 7})
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned program still runs")
	}
	_, err = st.Get(ctx, procNS, "7", time.Now())
	require.ErrorIs(t, err, store.ErrNotFound)

	// A record whose process is not the one that started (pid reused) is
	// dropped without killing anything.
	other := start()
	require.NoError(t, st.Put(ctx, procNS, "8", `{"host":"`+hostname(t)+`","boot":"`+procgroup.BootID()+`","pgid":`+strconv.Itoa(other.Process.Pid)+`,"start":"1"}`, time.Time{}))
	m.abandoned(d)(ctx, store.Job{ID: 8})
	require.NoError(t, other.Process.Signal(syscall.Signal(0)), "another process was killed")
	_, err = st.Get(ctx, procNS, "8", time.Now())
	require.ErrorIs(t, err, store.ErrNotFound)

	// No record: nothing to do.
	m.abandoned(d)(ctx, store.Job{ID: 9})
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	require.NoError(t, err)
	return h
}
