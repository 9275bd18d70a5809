package scripts

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// output collects a process's output and says when a string appeared.
type output struct {
	mu   sync.Mutex
	b    strings.Builder
	seen chan struct{}
	want string
}

func newOutput(want string) *output { return &output{seen: make(chan struct{}), want: want} }

func (o *output) write(p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	had := strings.Contains(o.b.String(), o.want)
	o.b.Write(p)
	if !had && o.want != "" && strings.Contains(o.b.String(), o.want) {
		close(o.seen)
	}
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

func script(t *testing.T, name string, args ...string) []string {
	return append([]string{filepath.Join(testdata(t), name)}, args...)
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}

// requireGone waits until every pid has ended (a killed orphan is reaped by
// init, which takes a moment).
func requireGone(t *testing.T, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d is still running", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// readPids reads the pids a script wrote to file.
func readPids(t *testing.T, file string) []int {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	return pids
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode string // spawn.sh's second argument
	}{
		{"SIGTERM", ""},
		{"SIGKILL after the grace period", "ignore-term"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			pidFile := filepath.Join(t.TempDir(), "pids")
			out := newOutput("started")
			p := process{argv: script(t, "spawn.sh", pidFile, tc.mode), env: []string{"PATH=" + os.Getenv("PATH")},
				timeout: 5 * time.Minute, grace: 200 * time.Millisecond, clock: fc}
			type res struct {
				o   outcome
				err error
			}
			done := make(chan res, 1)
			go func() {
				o, err := p.run(context.Background(), out.write)
				done <- res{o, err}
			}()
			select {
			case <-out.seen:
			case <-time.After(10 * time.Second):
				t.Fatalf("the script did not start: %q", out.String())
			}
			pids := readPids(t, pidFile)
			require.Len(t, pids, 2)
			require.True(t, alive(pids[0]) && alive(pids[1]))

			fc.Advance(5 * time.Minute) // the timeout passes
			var r res
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the run did not end after its timeout")
			}
			require.NoError(t, r.err)
			require.True(t, r.o.timedOut)
			require.Equal(t, -1, r.o.exitCode)
			want := "terminated"
			if tc.mode == "ignore-term" {
				want = "killed"
			}
			require.Equal(t, want, r.o.signal)
			requireGone(t, pids...)
		})
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pids")
	out := newOutput("started")
	p := process{argv: script(t, "spawn.sh", pidFile), timeout: time.Hour, grace: time.Second, clock: clock.Real{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan outcome, 1)
	go func() {
		o, err := p.run(ctx, out.write)
		require.NoError(t, err)
		done <- o
	}()
	<-out.seen
	pids := readPids(t, pidFile)
	cancel()
	o := <-done
	require.True(t, o.cancelled)
	require.False(t, o.timedOut)
	requireGone(t, pids...)
}

func TestLeftoverChildrenAreKilled(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	out := newOutput("")
	p := process{argv: script(t, "leave.sh", pidFile), timeout: time.Minute, grace: time.Second, clock: clock.Real{}}
	o, err := p.run(context.Background(), out.write)
	require.NoError(t, err)
	require.Equal(t, 0, o.exitCode)
	require.Equal(t, "bye\n", out.String())
	requireGone(t, readPids(t, pidFile)...)
}

func TestExitStatusAndOutput(t *testing.T) {
	for _, code := range []int{0, 1, 3} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			out := newOutput("")
			p := process{argv: script(t, "exit.sh", strconv.Itoa(code)), timeout: time.Minute, grace: time.Second, clock: clock.Real{}}
			o, err := p.run(context.Background(), out.write)
			require.NoError(t, err)
			require.Equal(t, code, o.exitCode)
			require.Empty(t, o.signal)
			require.Contains(t, out.String(), "out: exiting "+strconv.Itoa(code))
			require.Contains(t, out.String(), "err: exiting "+strconv.Itoa(code), "stderr is captured too")
		})
	}
	_, err := process{argv: []string{filepath.Join(t.TempDir(), "missing")}, clock: clock.Real{}}.run(context.Background(), func([]byte) {})
	require.ErrorContains(t, err, "no such file")
}

func TestTail(t *testing.T) {
	tl := &tail{max: 10}
	for _, s := range []string{"0123", "456789", "abc", "defghijklmnop"} {
		_, _ = tl.Write([]byte(s))
	}
	require.Equal(t, "ghijklmnop", string(tl.buf))
	require.EqualValues(t, 26, tl.total)
	require.True(t, tl.truncated())

	small := &tail{max: 10}
	_, _ = small.Write([]byte("short"))
	require.False(t, small.truncated())
}

func TestEnvironment(t *testing.T) {
	t.Setenv("OPSBOT_TEST_SECRET", "must-not-leak")
	m := &Module{clock: clock.Real{}}
	d := newDef(Command{Name: "env", Grammar: "env {app}", Argv: []string{"testdata/env.sh"},
		Env: map[string]config.Secret{"TOKEN": "s3cret-token"}}.withDefaults())
	inv, err := m.invocation(d, map[string]string{"app": "api", "dash-arg": "x"}, "alice", room, 42)
	require.NoError(t, err)
	out := newOutput("")
	o, err := inv.proc.run(context.Background(), out.write)
	require.NoError(t, err)
	require.Equal(t, 0, o.exitCode)
	env := out.String()
	for _, want := range []string{"TOKEN=s3cret-token", "OPSBOT_USER=alice", "OPSBOT_ROOM=#ops", "OPSBOT_JOB=42",
		"OPSBOT_COMMAND=env", "OPSBOT_ARG_APP=api", "OPSBOT_ARG_DASH_ARG=x", "PATH="} {
		require.Contains(t, env, want+"", "environment:\n%s", env)
	}
	require.NotContains(t, env, "must-not-leak", "opsbot's own environment is not passed on")
}

var room = chat.Room{Adapter: "test", ID: "ops", Name: "#ops"}
