package procgroup

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// start runs a program that ignores SIGTERM in a group of its own.
func start(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	return cmd
}

func TestKillEscalates(t *testing.T) {
	dir := t.TempDir()
	cmd := start(t, `trap "" TERM; touch `+dir+`/ready; while :; do sleep 0.05; done`)
	pgid := cmd.Process.Pid
	require.Eventually(t, func() bool { _, err := os.Stat(dir + "/ready"); return err == nil }, 5*time.Second, 5*time.Millisecond, "the trap is set")
	require.True(t, Alive(pgid))
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	began := time.Now()
	Kill(pgid, 200*time.Millisecond)
	<-done
	assert.GreaterOrEqual(t, time.Since(began), 200*time.Millisecond, "SIGTERM was ignored: SIGKILL after the grace")
	assert.False(t, Alive(pgid))
}

func TestMark(t *testing.T) {
	cmd := start(t, `sleep 30`)
	m := MarkOf(cmd.Process.Pid)
	require.NotEmpty(t, m.Start)
	assert.Equal(t, Here, m.Locate())

	reused := m
	reused.Start = "1" // another process got the pid
	assert.Equal(t, Gone, reused.Locate())
	assert.False(t, reused.StopIfHere(time.Second))
	require.NoError(t, cmd.Process.Signal(syscall.Signal(0)), "nothing was killed")

	elsewhere := m
	elsewhere.Host = "another-host"
	assert.Equal(t, Elsewhere, elsewhere.Locate())

	rebooted := m
	rebooted.Boot = "another-boot"
	assert.Equal(t, Gone, rebooted.Locate())

	assert.True(t, m.StopIfHere(time.Second))
	_ = cmd.Wait()
	assert.Equal(t, Gone, m.Locate())
	host, _ := os.Hostname()
	assert.Equal(t, host, m.Host)
}
