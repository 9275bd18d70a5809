package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store/pgtest"
)

// End-to-end tests of config-defined commands and background jobs, through
// `opsbot shell` with its stdin on a pipe, on SQLite and on PostgreSQL.

// scriptFiles are the programs the commands run.
var scriptFiles = map[string]string{
	// argv.sh prints each argument after a delimiter line.
	"argv.sh": `#!/bin/sh
for a in "$@"; do
	printf -- '---ARG---\n%s\n' "$a"
done
`,
	// steps.sh prints three steps, a little apart.
	"steps.sh": `#!/bin/sh
for i in 1 2 3; do
	echo "step $i"
	sleep 0.7
done
echo "all done"
`,
	// spawn.sh starts a child, writes "PARENT CHILD" pids to $1 and waits.
	"spawn.sh": `#!/bin/sh
sleep 300 &
echo "$$ $!" > "$1"
echo started
wait
`,
	// pid.sh writes its pid to $1 and becomes a long sleep.
	"pid.sh": `#!/bin/sh
echo "$$" > "$1"
exec sleep 30
`,
}

// e2e is a directory with a config and the scripts, and the database to use.
type e2e struct {
	dir, config, database string
}

func newE2E(t *testing.T, pg bool, commands string) e2e {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scriptFiles {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o700))
	}
	e := e2e{dir: dir, config: filepath.Join(dir, "opsbot.yaml")}
	if pg {
		e.database = pgtest.Start(t)
	}
	cfg := `users:
  - name: alice
    identities: [shell:alice]
  - name: bob
    identities: [shell:bob]
rules:
  - permission: "*"
    users: [alice]
commands:
` + strings.ReplaceAll(commands, "DIR", dir)
	require.NoError(t, os.WriteFile(e.config, []byte(cfg), 0o600))
	return e
}

func (e e2e) args(user string) []string {
	a := []string{"--data", filepath.Join(e.dir, "data"), "--config", e.config}
	if e.database != "" {
		a = append(a, "--database", e.database)
	}
	return append(a, "shell", "--user", user)
}

// session is a running `opsbot shell` fed through a pipe.
type session struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	out   strings.Builder
	more  chan struct{}
	done  chan struct{}
}

func (e e2e) start(t *testing.T, user string) *session {
	t.Helper()
	cmd := exec.Command(binary, e.args(user)...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	s := &session{t: t, cmd: cmd, stdin: stdin, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			s.mu.Lock()
			s.out.WriteString(line)
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("opsbot shell output:\n%s\nstderr:\n%s", s.output(), stderr.String())
			if strings.Contains(stderr.String(), "commands: unknown section") {
				t.Log("the scripts and jobs modules are not built in: add scripts.New() and jobsmod.New() to app.BuiltinModules")
			}
		}
	})
	return s
}

func (s *session) say(line string) {
	s.t.Helper()
	_, err := io.WriteString(s.stdin, line+"\n")
	require.NoError(s.t, err)
}

func (s *session) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor waits until the output matches re, and returns the match.
func (s *session) waitFor(re string) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(30 * time.Second)
	for {
		if m := rx.FindStringSubmatch(s.output()); m != nil {
			return m
		}
		select {
		case <-s.more:
		case <-s.done:
			if m := rx.FindStringSubmatch(s.output()); m != nil {
				return m
			}
			s.t.Fatalf("opsbot shell ended without printing %q:\n%s", re, s.output())
		case <-deadline:
			s.t.Fatalf("opsbot shell did not print %q:\n%s", re, s.output())
		}
	}
}

// quit ends the input and waits for the shell to exit.
func (s *session) quit() {
	s.t.Helper()
	require.NoError(s.t, s.stdin.Close())
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Fatalf("opsbot shell did not exit:\n%s", s.output())
	}
	require.NoError(s.t, s.cmd.Wait())
}

var e2eDatabases = []struct {
	name string
	pg   bool
}{{"sqlite", false}, {"postgres", true}}

// TestShellCommands: from the shell, a foreground command runs a script with
// its arguments and replies with its output; injection strings arrive
// verbatim as single arguments; a background command posts started →
// streamed output → finished with its duration; a command over its timeout
// is killed with its children; a user without the permission is refused.
func TestShellCommands(t *testing.T) {
	for _, db := range e2eDatabases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			pids := "DIR/spawn.pids"
			e := newE2E(t, db.pg, `
  - name: echo-args
    grammar: echo-args {a} {rest...}
    argv: [DIR/argv.sh, "{a}", "{rest}", "--by={user}"]
  - name: steps
    grammar: steps
    argv: [DIR/steps.sh]
    background: true
    stream_interval: 500ms
  - name: stuck
    grammar: stuck
    argv: [DIR/spawn.sh, "`+pids+`"]
    timeout: 2s
    kill_grace: 1s
`)
			s := e.start(t, "alice")

			// Foreground, with shell metacharacters in the arguments.
			pwned := filepath.Join(e.dir, "pwned")
			s.say(`echo-args "; rm -rf /" $(touch ` + pwned + `) ` + "`touch " + pwned + "` 'q' \"dq\" --flag=x | touch " + pwned)
			// The shell shows posts as plain text: a code block's lines are indented.
			m := s.waitFor(`finished in [0-9.]+s \(exit 0\) \(#\d+\)\n((?:  [^\n]*\n)*?  --by=alice\n)`)
			require.Equal(t, []string{
				"; rm -rf /",
				"$(touch " + pwned + ") `touch " + pwned + "` 'q' \"dq\" --flag=x | touch " + pwned,
				"--by=alice",
			}, shellArgv(m[1]))
			require.NoFileExists(t, pwned)

			// Background: started, streamed output in its thread, finished.
			s.say("steps")
			started := s.waitFor(`\[shell\] opsbot: started job #(\d+): steps \(#(\d+)\)`)
			thread := started[2]
			s.waitFor(`(?s)\[shell #` + thread + `\] opsbot:[^\n]*step 1`)
			s.waitFor(`\[shell\] opsbot: job #` + started[1] + ` \(steps\) finished in [0-9.]+s \(exit 0\)`)
			s.waitFor(`all done`)
			// At least one streamed post came before the result.
			out := s.output()
			require.Less(t, strings.Index(out, "[shell #"+thread+"]"), strings.Index(out, "job #"+started[1]+" (steps) finished in"))

			// Timeout: killed with its child, reported.
			s.say("stuck")
			s.waitFor(`stuck timed out after 2s, killed`)
			for _, pid := range readPidFile(t, strings.ReplaceAll(pids, "DIR", e.dir)) {
				requireDead(t, pid)
			}
			s.quit()

			// Another user, without the permission: refused, nothing runs.
			r := opsbot(t, e.dir, "echo-args x y\n", e.args("bob")...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stdout, "Sorry bob, echo-args needs the permission echo-args")
			require.NotContains(t, r.stdout, "---ARG---")
		})
	}
}

// shellArgv reads what argv.sh printed, as the shell shows it (indented).
func shellArgv(block string) []string {
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "  "))
	}
	text := strings.Join(lines, "\n")
	var out []string
	for _, p := range strings.Split(text, "---ARG---\n")[1:] {
		out = append(out, strings.TrimSuffix(p, "\n"))
	}
	return out
}

func readPidFile(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.NotEmpty(t, pids)
	return pids
}

// requireDead waits until pid is gone or a zombie.
func requireDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "process %d is still running", pid)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSIGKILLInterruptsJob kills opsbot (SIGKILL) while a non-resumable
// background job runs, starts it again, and sees the job marked interrupted,
// its room told, and the program it had started stopped.
func TestSIGKILLInterruptsJob(t *testing.T) {
	for _, db := range e2eDatabases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, db.pg, `
  - name: slow
    grammar: slow job
    argv: [DIR/pid.sh, DIR/slow.pid]
    background: true
`)
			s := e.start(t, "alice")
			s.say("slow job")
			id := s.waitFor(`started job #(\d+): slow job`)[1]
			pidFile := filepath.Join(e.dir, "slow.pid")
			var pid []int
			deadline := time.Now().Add(10 * time.Second)
			for len(pid) == 0 {
				if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
					pid = readPidFile(t, pidFile)
				}
				require.True(t, time.Now().Before(deadline), "the job's program did not start")
				time.Sleep(10 * time.Millisecond)
			}
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
			<-s.done
			require.Error(t, s.cmd.Wait())
			require.NoError(t, syscall.Kill(pid[0], 0), "the program outlived opsbot")

			r := opsbot(t, e.dir, "jobs\n", e.args("alice")...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Regexp(t, `\[shell\] opsbot: (\[WARNING\] )?job #`+id+` \(slow job\) was interrupted by a restart; it did not finish\.`, r.stdout)
			require.Regexp(t, `#`+id+` interrupted after [0-9.]+s — slow job \(alice\)`, r.stdout)
			requireDead(t, pid[0])
		})
	}
}
