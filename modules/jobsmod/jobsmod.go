// Package jobsmod is the chat side of background jobs: `jobs` lists running
// and recent jobs, `job ID` shows one with the end of its log, and
// `cancel job ID` stops one.
package jobsmod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/auth"
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/store"
)

// CancelPermission lets a user cancel jobs others started.
const CancelPermission = "jobs:cancel"

// Module is the jobs module.
type Module struct {
	b      *bot.Bot
	runner *jobs.Runner
}

var _ bot.Module = (*Module)(nil)

// New returns the jobs module.
func New() *Module { return &Module{} }

// Name is "jobs".
func (*Module) Name() string { return "jobs" }

// Provision declares the commands.
func (m *Module) Provision(h *bot.Host) error {
	m.b, m.runner = h.Bot(), h.Jobs()
	if m.runner == nil {
		return fmt.Errorf("jobs: %w", bot.ErrNoJobs)
	}
	for _, s := range []command.Spec{
		{Name: "jobs", Grammar: "jobs", Help: "list running and recent jobs", Run: m.list},
		{Name: "job", Grammar: "job {id:int}", Help: "show a job: its state, who started it, and the end of its log", Run: m.show},
		// The permission check is in the handler: the job's starter may
		// cancel it, others need jobs:cancel, admins may cancel any.
		{Name: "jobs.cancel", Grammar: "cancel job {id:int}",
			Help: "cancel a job: one you started, or anyone's with the permission `" + CancelPermission + "` (admins: any)",
			Run:  m.cancel},
	} {
		if err := h.Command(s); err != nil {
			return err
		}
	}
	return nil
}

// recentJobs is how many finished jobs `jobs` lists.
const recentJobs = 10

func (m *Module) list(ctx context.Context, c *command.Call) error {
	st := m.b.Store()
	active, err := st.ListJobs(ctx, store.JobFilter{States: []string{jobs.StateRunning, jobs.StateQueued}, Limit: 50})
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	recent, err := st.ListJobs(ctx, store.JobFilter{Limit: recentJobs + len(active)})
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	var b strings.Builder
	if len(active) > 0 {
		fmt.Fprintf(&b, "Running (%d):", len(active))
		for i := len(active) - 1; i >= 0; i-- {
			b.WriteString("\n- " + m.line(active[i]))
		}
	} else {
		b.WriteString("No job is running.")
	}
	n := 0
	for _, j := range recent {
		if !jobs.Finished(j.State) || n == recentJobs {
			continue
		}
		if n == 0 {
			b.WriteString("\nRecent:")
		}
		b.WriteString("\n- " + m.line(j))
		n++
	}
	_, err = c.Reply(ctx, chat.Post{Text: b.String()})
	return err
}

// line is a job in one line: "#12 succeeded in 12.3s (exit 0) — `refresh toy db` (alice)".
func (m *Module) line(j store.Job) string {
	return fmt.Sprintf("#%d %s — `%s` (%s)", j.ID, m.status(j), j.Command, j.UserName)
}

// status is a job's state with its timing: "running for 1m2s", "failed
// (exit 2) after 3.1s".
func (m *Module) status(j store.Job) string {
	switch j.State {
	case jobs.StateQueued:
		return "queued"
	case jobs.StateRunning:
		return "running for " + jobs.FormatDuration(m.b.Now().Sub(j.Started))
	}
	d := j.Finished.Sub(j.Started)
	switch j.State {
	case jobs.StateSucceeded:
		return fmt.Sprintf("succeeded in %s (exit %d)", jobs.FormatDuration(d), j.ExitCode)
	case jobs.StateFailed:
		if j.ExitCode != 0 {
			return fmt.Sprintf("failed (exit %d) after %s", j.ExitCode, jobs.FormatDuration(d))
		}
		return fmt.Sprintf("failed after %s", jobs.FormatDuration(d))
	case jobs.StateCancelled, jobs.StateInterrupted:
		if j.Started.IsZero() || d <= 0 {
			return j.State
		}
		return fmt.Sprintf("%s after %s", j.State, jobs.FormatDuration(d))
	case jobs.StateTimeout:
		return fmt.Sprintf("timed out after %s", jobs.FormatDuration(d))
	}
	return j.State
}

// logTail is how much of the log `job ID` shows.
const logTail = 2000

func (m *Module) show(ctx context.Context, c *command.Call) error {
	id := int64(c.Args.Int("id"))
	st := m.b.Store()
	j, err := st.Job(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c.Replyf(ctx, "There is no job #%d.", id)
	}
	if err != nil {
		return fmt.Errorf("job %d: %w", id, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "job #%d `%s`: %s\nstarted by %s in %s", j.ID, j.Command, m.status(j), j.UserName, j.Room)
	if !j.Started.IsZero() {
		fmt.Fprintf(&b, " at %s", j.Started.Format("2006-01-02 15:04:05 MST"))
	}
	if j.Error != "" {
		fmt.Fprintf(&b, "\nerror: %s", j.Error)
	}
	log, err := st.JobLog(ctx, id)
	if err != nil {
		return fmt.Errorf("job %d: %w", id, err)
	}
	if len(log) == 0 {
		b.WriteString("\n(no output)")
	} else {
		shown := log
		if len(shown) > logTail {
			shown = shown[len(shown)-logTail:]
			if i := bytes.IndexByte(shown, '\n'); i >= 0 {
				shown = shown[i+1:]
			}
			fmt.Fprintf(&b, "\nthe last %d of %d bytes of its log:", len(shown), len(log))
		}
		s := strings.ReplaceAll(string(shown), "```", "``\u200b`")
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		b.WriteString("\n```\n" + s + "```")
	}
	_, err = c.Reply(ctx, chat.Post{Text: b.String()})
	return err
}

func (m *Module) cancel(ctx context.Context, c *command.Call) error {
	id := int64(c.Args.Int("id"))
	j, err := m.b.Store().Job(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c.Replyf(ctx, "There is no job #%d.", id)
	}
	if err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	if jobs.Finished(j.State) {
		return c.Replyf(ctx, "job #%d (`%s`) has already ended: %s.", id, j.Command, m.status(j))
	}
	allowed, err := m.mayCancel(ctx, c, j)
	if err != nil {
		return err
	}
	if !allowed {
		if err := c.Replyf(ctx, "Sorry %s, job #%d was started by %s: cancelling someone else's job needs the permission `%s`.",
			c.User.Name, id, j.UserName, CancelPermission); err != nil {
			return err
		}
		return fmt.Errorf("denied: not the starter, no %s: %w", CancelPermission, bot.ErrReported)
	}
	err = m.runner.Cancel(ctx, id)
	switch {
	case errors.Is(err, jobs.ErrFinished):
		return c.Replyf(ctx, "job #%d (`%s`) has already ended.", id, j.Command)
	case errors.Is(err, jobs.ErrElsewhere):
		return c.Replyf(ctx, "job #%d (`%s`) runs in the foreground in another opsbot process; only that process can stop it.", id, j.Command)
	case err != nil:
		return err
	}
	return c.Replyf(ctx, "Cancelling job #%d (`%s`).", id, j.Command)
}

// mayCancel: the starter, an admin, or a user with jobs:cancel.
func (m *Module) mayCancel(ctx context.Context, c *command.Call, j store.Job) (bool, error) {
	if c.User.IsAdmin() || c.User.Name == j.UserName {
		return true, nil
	}
	rules, err := m.b.Rules(ctx)
	if err != nil {
		return false, fmt.Errorf("cancel job: %w", err)
	}
	d := auth.Decide(rules, auth.Request{Principal: c.User, Command: c.Spec.Name, Permissions: []string{CancelPermission},
		SideEffects: true, Room: c.Msg.Room, Args: c.Args})
	return d.Allowed, nil
}
