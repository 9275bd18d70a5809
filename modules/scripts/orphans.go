package scripts

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/procgroup"
	"github.com/opsbot/opsbot/store"
)

// While a command runs, its process group is recorded in the store, so that
// if opsbot dies (SIGKILL, a crash) the next start can stop the program it
// left running before it marks the job interrupted or runs it again: an
// "interrupted" job has really stopped, and a resumed one never runs twice.

const procNS = "scripts.proc"

func (m *Module) recordProc(ctx context.Context, jobID int64, pgid int) {
	b, _ := json.Marshal(procgroup.MarkOf(pgid)) // plain fields: cannot fail
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
		var rec procgroup.Mark
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			m.forgetProc(ctx, j.ID)
			return
		}
		switch rec.Locate() {
		case procgroup.Elsewhere:
			m.log.Warn("the program of an abandoned job ran on another host; it may still run there", "job", j.ID, "host", rec.Host, "pgid", rec.PGID)
			return // that host's next start stops it
		case procgroup.Gone:
			m.forgetProc(ctx, j.ID) // ended, or the machine rebooted (its pid may now be another process's)
			return
		}
		procgroup.Kill(rec.PGID, d.KillGrace)
		m.log.Warn("stopped the program an abandoned job left running", "job", j.ID, "pgid", rec.PGID)
		m.forgetProc(ctx, j.ID)
	}
}
