package scripts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/opsbot/opsbot/clock"

	"github.com/opsbot/opsbot/procgroup"
)

// process is a program to run: never through a shell.
type process struct {
	argv    []string
	env     []string
	dir     string
	timeout time.Duration
	// grace is how long the process group has between SIGTERM and SIGKILL.
	grace time.Duration
	clock clock.Clock
	// started, if set, is told the process group's ID once it runs.
	started func(pgid int)
}

// outcome is how a run ended.
type outcome struct {
	exitCode  int    // -1 when killed by a signal
	signal    string // the signal that ended it, if one did
	timedOut  bool
	cancelled bool // ctx ended first
	duration  time.Duration
}

// afterExit bounds how long the output may stay open once the program
// exited and its process group was killed (a descendant that left the group
// may hold the pipe).
const afterExit = 2 * time.Second

// run starts the program in its own process group with stdout and stderr
// on one pipe, feeds what it writes to out as it comes, and waits for it.
// When the timeout passes or ctx ends, the whole group gets SIGTERM, then
// SIGKILL after the grace period. Processes the program leaves behind in its
// group are killed the same way when it exits. out is called from one
// goroutine at a time, and not after run returns.
func (p process) run(ctx context.Context, out func([]byte)) (outcome, error) {
	if len(p.argv) == 0 || p.argv[0] == "" {
		return outcome{}, errors.New("no program to run")
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = p.env
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return outcome{}, fmt.Errorf("output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	start := p.clock.Now()
	var timeout <-chan time.Time
	if p.timeout > 0 {
		timeout = p.clock.After(p.timeout) // before the start: the program can't outrun it
	}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return outcome{}, fmt.Errorf("start %s: %w", p.argv[0], err)
	}
	pw.Close() // the children hold the write end now
	pgid := cmd.Process.Pid
	if p.started != nil {
		p.started(pgid)
	}

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 32*1024)
		for {
			n, err := pr.Read(buf)
			if n > 0 {
				out(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()

	var o outcome
	var waitErr error
	select {
	case waitErr = <-waitDone:
	case <-timeout:
		o.timedOut = true
		waitErr = p.stop(pgid, waitDone)
	case <-ctx.Done():
		o.cancelled = true
		waitErr = p.stop(pgid, waitDone)
	}
	// Whatever the program left running in its group goes too; then the
	// output ends, unless an escaped descendant still holds it open.
	p.killGroup(pgid)
	select {
	case <-readDone:
	case <-time.After(afterExit):
		pr.Close()
		<-readDone
	}
	pr.Close()
	o.duration = p.clock.Now().Sub(start)

	o.exitCode = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		o.signal = ws.Signal().String()
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return o, fmt.Errorf("wait for %s: %w", p.argv[0], waitErr)
	}
	return o, nil
}

// stop ends the process group: SIGTERM, then SIGKILL once the grace period
// passes without the program exiting. It returns the program's wait error.
func (p process) stop(pgid int, waitDone <-chan error) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case err := <-waitDone:
		return err
	case <-p.clock.After(p.grace):
	case <-time.After(p.grace):
		// The real clock too: a fake clock that nobody advances must not
		// leave a program running forever.
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return <-waitDone
}

// killGroup ends what remains of the group after the program exited:
// SIGTERM, and SIGKILL after the grace period for what ignores it.
func (p process) killGroup(pgid int) { procgroup.Kill(pgid, p.grace) }

// tail keeps the last max bytes written to it and counts them all.
type tail struct {
	max   int
	buf   []byte
	total int64
}

func (t *tail) Write(p []byte) (int, error) {
	t.total += int64(len(p))
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// truncated reports whether some output was dropped.
func (t *tail) truncated() bool { return t.total > int64(len(t.buf)) }

var _ io.Writer = (*tail)(nil)
