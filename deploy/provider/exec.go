package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/opsbot/opsbot/procgroup"
)

// Program is a program a provider runs: argv, never a shell.
type Program struct {
	Argv []string
	Env  []string // the whole environment (nil: just PATH and HOME)
	Dir  string
	// Grace is how long the process group has between SIGTERM and SIGKILL
	// when ctx ends (default 5s).
	Grace   time.Duration
	Started func(pgid int)
}

// ExitError is Exec's error for a program that ran and failed.
type ExitError struct {
	Program string
	Code    int    // -1 when a signal ended it
	Signal  string // the signal, if one did
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return fmt.Sprintf("%s was killed by %s", e.Program, e.Signal)
	}
	return fmt.Sprintf("%s exited with status %d", e.Program, e.Code)
}

// BaseEnv is the part of opsbot's own environment a program inherits: not
// the rest, which may hold opsbot's tokens.
func BaseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// Exec runs p in its own process group, with stdout and stderr written to
// out as they come, and waits for it. When ctx ends, the whole group gets
// SIGTERM, then SIGKILL after the grace period, and Exec returns ctx's error.
func Exec(ctx context.Context, p Program, out io.Writer) error {
	if len(p.Argv) == 0 || p.Argv[0] == "" {
		return errors.New("no program to run")
	}
	if p.Grace <= 0 {
		p.Grace = 5 * time.Second
	}
	cmd := exec.Command(p.Argv[0], p.Argv[1:]...)
	cmd.Env = p.Env
	if cmd.Env == nil {
		cmd.Env = BaseEnv()
	}
	cmd.Dir = p.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("start %s: %w", p.Argv[0], err)
	}
	pw.Close()
	pgid := cmd.Process.Pid
	if p.Started != nil {
		p.Started(pgid)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		_, _ = io.Copy(out, pr)
	}()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()
	var waitErr error
	stopped := false
	select {
	case waitErr = <-waitDone:
	case <-ctx.Done():
		stopped = true
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case waitErr = <-waitDone:
		case <-time.After(p.Grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			waitErr = <-waitDone
		}
	}
	procgroup.Kill(pgid, p.Grace)
	select {
	case <-readDone:
	case <-time.After(2 * time.Second): // an escaped descendant holds the pipe
	}
	pr.Close()
	<-readDone
	if stopped {
		return fmt.Errorf("%s stopped: %w", p.Argv[0], context.Cause(ctx))
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		e := &ExitError{Program: p.Argv[0], Code: exitErr.ExitCode()}
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal().String()
		}
		return e
	}
	if waitErr != nil {
		return fmt.Errorf("wait for %s: %w", p.Argv[0], waitErr)
	}
	return nil
}
