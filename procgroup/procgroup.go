// Package procgroup stops the process groups opsbot starts (config-defined
// commands, deployment scripts) and recognises one across a restart of
// opsbot, so that a program a dead opsbot left running is stopped before
// its job is marked interrupted or run again.
package procgroup

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Kill ends what remains of process group pgid: SIGTERM, then SIGKILL after
// grace for what ignores it.
func Kill(pgid int, grace time.Duration) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return // the group is empty
	}
	deadline := time.Now().Add(grace)
	for Alive(pgid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Alive reports whether process group pgid has a member that is not a
// zombie (an exited process its new parent has yet to reap still counts for
// kill(2), so /proc is read where there is one).
func Alive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		f := stat(e.Name())
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			return true
		}
	}
	return false
}

// stat is /proc/PID/stat's fields after the command name (which may hold
// spaces and parentheses): state first, then ppid, pgrp…; nil if gone.
func stat(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// Mark identifies a process group across a restart of opsbot: pid reuse is
// ruled out by the boot ID and the leader's start time.
type Mark struct {
	Host  string `json:"host"`
	Boot  string `json:"boot"`
	PGID  int    `json:"pgid"`
	Start string `json:"start"` // the leader's start time, in clock ticks since boot
}

// MarkOf returns the mark of process group pgid, now.
func MarkOf(pgid int) Mark {
	host, _ := os.Hostname()
	return Mark{Host: host, Boot: BootID(), PGID: pgid, Start: Start(pgid)}
}

// Where tells where a marked group stands from this process's point of view.
type Where int

const (
	// Here: the same group still runs on this machine.
	Here Where = iota
	// Gone: it ended (or the machine rebooted): nothing to stop.
	Gone
	// Elsewhere: it ran on another host; that host's next start stops it.
	Elsewhere
)

// Locate says whether the marked group still runs here.
func (m Mark) Locate() Where {
	host, _ := os.Hostname()
	switch {
	case m.PGID <= 0:
		return Gone
	case m.Host != host:
		return Elsewhere
	case m.Boot != BootID() || m.Start == "" || Start(m.PGID) != m.Start:
		return Gone
	}
	return Here
}

// StopIfHere kills the marked group if it still runs on this machine; it
// reports whether it did.
func (m Mark) StopIfHere(grace time.Duration) bool {
	if m.Locate() != Here {
		return false
	}
	Kill(m.PGID, grace)
	return true
}

// BootID identifies this boot of the machine ("" where unknown).
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Start is a process's start time in clock ticks since boot, "" if it does
// not exist (or there is no /proc).
func Start(pid int) string {
	f := stat(strconv.Itoa(pid))
	// After the command name: state is field 3, starttime field 22.
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return ""
	}
	return f[19]
}
