package scripts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/store"
)

// While a command runs, its process group is recorded in the store, so that
// if opsbot dies (SIGKILL, a crash) the next start can stop the program it
// left running before it marks the job interrupted or runs it again: an
// "interrupted" job has really stopped, and a resumed one never runs twice.

const procNS = "scripts.proc"

// procRecord identifies a process group across a restart of opsbot: pid
// reuse is ruled out by the boot ID and the leader's start time.
type procRecord struct {
	Host  string `json:"host"`
	Boot  string `json:"boot"`
	PGID  int    `json:"pgid"`
	Start string `json:"start"` // the leader's start time, in clock ticks since boot
}

func (m *Module) recordProc(ctx context.Context, jobID int64, pgid int) {
	host, _ := os.Hostname()
	rec := procRecord{Host: host, Boot: bootID(), PGID: pgid, Start: procStart(pgid)}
	b, _ := json.Marshal(rec) // plain fields: cannot fail
	if err := m.st.Put(context.WithoutCancel(ctx), procNS, strconv.FormatInt(jobID, 10), string(b), time.Time{}); err != nil {
		m.log.Warn("record job process", "job", jobID, "err", err)
	}
}

func (m *Module) forgetProc(ctx context.Context, jobID int64) {
	if err := m.st.Delete(context.WithoutCancel(ctx), procNS, strconv.FormatInt(jobID, 10)); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Warn("forget job process", "job", jobID, "err", err)
	}
}

// abandoned stops the program a dead opsbot process left running for job j.
func (m *Module) abandoned(d *cmdDef) func(ctx context.Context, j store.Job) {
	return func(ctx context.Context, j store.Job) {
		key := strconv.FormatInt(j.ID, 10)
		v, err := m.st.Get(ctx, procNS, key, m.clock.Now())
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				m.log.Warn("look up job process", "job", j.ID, "err", err)
			}
			return
		}
		var rec procRecord
		if err := json.Unmarshal([]byte(v), &rec); err != nil || rec.PGID <= 0 {
			m.forgetProc(ctx, j.ID)
			return
		}
		host, _ := os.Hostname()
		if rec.Host != host || rec.Boot != bootID() {
			if rec.Host != host {
				m.log.Warn("the program of an abandoned job ran on another host; it may still run there", "job", j.ID, "host", rec.Host, "pgid", rec.PGID)
				return // that host's next start stops it
			}
			m.forgetProc(ctx, j.ID) // the machine rebooted: it is gone
			return
		}
		if rec.Start == "" || procStart(rec.PGID) != rec.Start {
			m.forgetProc(ctx, j.ID) // gone (its pid may now be another process's)
			return
		}
		p := process{grace: d.KillGrace}
		p.killGroup(rec.PGID)
		m.log.Warn("stopped the program an abandoned job left running", "job", j.ID, "pgid", rec.PGID)
		m.forgetProc(ctx, j.ID)
	}
}

// bootID identifies this boot of the machine ("" where unknown).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// procStart is a process's start time in clock ticks since boot, "" if it
// does not exist (or there is no /proc).
func procStart(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(stat[i+1:]))
	// After the command name: state is field 3, starttime field 22.
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return ""
	}
	return f[19]
}
