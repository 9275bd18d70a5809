package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/provider"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/procgroup"
	"github.com/opsbot/opsbot/store"
)

// tailLines is how many of the last log lines a failure shows.
const tailLines = 15

// progressEvery is how often new output is posted in the thread.
const progressEvery = 5 * time.Second

// procNS keeps the process group a deployment's program runs in, so the
// next start can stop it if this opsbot dies.
const procNS = "deploy.proc"

func deploymentOf(j store.Job) (int64, error) {
	var pl payload
	if err := json.Unmarshal([]byte(j.Payload), &pl); err != nil || pl.Deployment == 0 {
		return 0, fmt.Errorf("job %d: no deployment in its payload", j.ID)
	}
	return pl.Deployment, nil
}

// runJob runs one deployment: the job of kind "deploy".
func (m *Module) runJob(ctx context.Context, run *jobs.Run) error {
	id, err := deploymentOf(run.Job)
	if err != nil {
		return err
	}
	d, err := m.records.Get(ctx, id)
	if err != nil {
		return err
	}
	if deploy.Final(d.Status) {
		return nil // cancelled before it started
	}
	a, ok := m.app(d.App)
	if !ok {
		m.finish(context.WithoutCancel(ctx), run, d, deploy.StatusError, "the app is no longer configured", nil)
		return fmt.Errorf("deployment #%d: app %s is no longer configured", d.ID, d.App)
	}
	env := a.Environments[d.Env]

	// Claim the start first: a deployment cancelled while queued never runs.
	if started, err := m.records.Start(ctx, d.ID, d.SHA, m.clock.Now()); err != nil {
		return err
	} else if !started {
		return nil
	}
	d.Status, d.Started = deploy.StatusRunning, m.clock.Now()

	// The announcement opens the deployment's thread (`retry` works there).
	startText := fmt.Sprintf("%s is deploying %s to %s (#%d)", d.User, at(d.App, d.Ref), targetOf(d), d.ID)
	if d.Forced && d.Source != "rollback" {
		startText += " — forced: required checks skipped"
	}
	if d.Source == "rollback" {
		startText = fmt.Sprintf("%s is rolling back %s in %s to %s (#%d)", d.User, d.App, d.Env, deploy.ShortSHA(d.SHA), d.ID)
	}
	if d.Source == "github" || d.Source == "auto" {
		startText += fmt.Sprintf(" [%s]", map[string]string{"github": "from a GitHub deployment", "auto": "auto-deploy"}[d.Source])
	}
	first, err := m.b.OpenThread(ctx, run.Room(), threadDeploy, strconv.FormatInt(d.ID, 10), chat.Post{Text: startText, ThreadKey: threadKey(d)})
	if err != nil {
		m.log.Warn("deployment announcement not posted", "deployment", d.ID, "err", err)
	} else {
		_ = run.SetThread(ctx, first)
		ref, _ := json.Marshal(first)
		_ = m.records.SetThread(ctx, d.ID, string(ref))
	}
	m.emit(ctx, d, "deploy.started", event.Info, startText)
	m.githubStatus(ctx, a, d, "in_progress", "deploying", env)

	p, err := m.provider(d.App, a, a.Provider)
	if err != nil {
		m.finish(context.WithoutCancel(ctx), run, d, deploy.StatusError, err.Error(), nil)
		return err
	}
	out := newStream(ctx, run, m, first)
	out.headline, out.threadKey, out.started = startText, threadKey(d), d.Started
	req := provider.Request{
		ID: d.ID, App: d.App, Env: d.Env, Ref: d.Ref, SHA: d.SHA, Task: strings.TrimPrefix(strings.TrimPrefix(d.Task, "deploy"), ":"),
		Hosts: d.Hosts, User: d.User, Repository: a.Repository,
		Started: func(pgid int) { m.recordProc(ctx, d.ID, pgid) },
	}
	if req.Task == "" {
		req.Task = "deploy"
	}
	if env != nil {
		req.URL = env.URL
	}
	if (a.Checkout || a.Provider == "heroku") && a.GitURL != "" && d.SHA != "" {
		dir, err := os.MkdirTemp("", "opsbot-deploy-")
		if err == nil {
			defer os.RemoveAll(dir)
			req.Dir = filepath.Join(dir, "src")
			if err := m.git(a).Checkout(ctx, d.SHA, req.Dir); err != nil {
				m.finish(context.WithoutCancel(ctx), run, d, deploy.StatusError, "checkout: "+err.Error(), out)
				return err
			}
		}
	}
	runErr := provider.Run(ctx, p, req, out, a.Timeout)
	out.Close()
	m.forgetProc(ctx, d.ID)

	fctx := context.WithoutCancel(ctx)
	switch {
	case jobs.ShuttingDown(ctx):
		m.interrupted(fctx, d, "opsbot stopped while it ran")
		return context.Cause(ctx)
	case jobs.Cancelled(ctx):
		by := m.takeCanceller(d.ID)
		m.finish(fctx, run, d, deploy.StatusCancelled, "cancelled by "+by, out)
		return runErr
	case runErr == nil:
		m.finish(fctx, run, d, deploy.StatusSuccess, "", out)
		return nil
	case errors.Is(runErr, provider.ErrTimeout):
		m.finish(fctx, run, d, deploy.StatusError, runErr.Error(), out)
		return fmt.Errorf("%w", runErr)
	}
	m.finish(fctx, run, d, deploy.StatusFailure, runErr.Error(), out)
	return runErr
}

func targetOf(d deploy.Deployment) string {
	if d.Hosts != "" {
		return d.Env + "/" + d.Hosts
	}
	return d.Env
}

func threadKey(d deploy.Deployment) string { return "deploy #" + strconv.FormatInt(d.ID, 10) }

// finish records the outcome and tells everyone: the thread, the
// announcement (edited), GitHub and the event log.
func (m *Module) finish(ctx context.Context, run *jobs.Run, d deploy.Deployment, status, why string, out *stream) {
	now := m.clock.Now()
	ok, err := m.records.Finish(ctx, d.ID, status, why, now)
	if err != nil {
		m.log.Error("deployment outcome not recorded", "deployment", d.ID, "err", err)
		return
	}
	if !ok {
		return // someone else recorded its end
	}
	d.Status, d.Finished, d.Description = status, now, why
	a, _ := m.app(d.App)
	var env *deploy.Environment
	if a != nil {
		env = a.Environments[d.Env]
	}
	dur := jobsDuration(d.Duration(now))
	var text string
	sev := chat.SeveritySuccess
	var links []chat.Link
	switch status {
	case deploy.StatusSuccess:
		text = fmt.Sprintf("%s's deployment of %s (%s) to %s succeeded in %s (#%d).", d.User, at(d.App, d.Ref), deploy.ShortSHA(d.SHA), targetOf(d), dur, d.ID)
		if env != nil && env.URL != "" {
			text += " " + env.URL
			links = append(links, chat.Link{Title: d.Env, URL: env.URL})
		}
		if a != nil && a.Repository != "" && d.PreviousSHA != "" && d.SHA != "" && d.PreviousSHA != d.SHA {
			u := "https://github.com/" + a.Repository + "/compare/" + deploy.ShortSHA(d.PreviousSHA) + "..." + deploy.ShortSHA(d.SHA)
			text += "\nchanges since the previous deployment: " + u
			links = append(links, chat.Link{Title: "changes", URL: u})
		}
	case deploy.StatusCancelled:
		sev = chat.SeverityWarning
		text = fmt.Sprintf("%s's deployment of %s to %s was %s after %s (#%d).", d.User, at(d.App, d.Ref), targetOf(d), why, dur, d.ID)
	default:
		sev = chat.SeverityCritical
		verb := "failed"
		if status == deploy.StatusError {
			verb = "errored"
		}
		text = fmt.Sprintf("%s's deployment of %s to %s %s after %s (#%d): %s", d.User, at(d.App, d.Ref), targetOf(d), verb, dur, d.ID, why)
		if out != nil {
			if tail := out.Tail(); tail != "" {
				text += "\n```\n" + tail + "\n```"
			}
		}
		text += "\nReply `retry` in this thread to run it again."
	}
	post := chat.Post{Text: text, Severity: sev, Links: links, ThreadKey: threadKey(d)}
	var thread chat.Ref
	if run != nil {
		thread = run.Thread()
	}
	if !thread.IsZero() {
		if _, err := m.b.PostInThread(ctx, thread, post); err != nil {
			m.log.Warn("deployment result not posted", "deployment", d.ID, "err", err)
		}
		// The announcement shows the current state where the chat can edit.
		if _, err := m.b.Update(ctx, thread, chat.Post{Text: firstLine(text), Severity: sev, ThreadKey: threadKey(d)}); err != nil {
			m.log.Warn("deployment announcement not updated", "deployment", d.ID, "err", err)
		}
	} else if room := jobs.ParseRoom(d.Room); room.ID != "" {
		if _, err := m.b.Post(ctx, room, post); err != nil {
			m.log.Warn("deployment result not posted", "deployment", d.ID, "err", err)
		}
	}
	tag, esev := "deploy.succeeded", event.Info
	if status != deploy.StatusSuccess {
		tag, esev = "deploy.failed", event.Warning
	}
	m.emit(ctx, d, tag, esev, firstLine(text))
	if a != nil {
		ghState := map[string]string{deploy.StatusSuccess: "success", deploy.StatusFailure: "failure"}[status]
		if ghState == "" {
			ghState = "error"
		}
		m.githubStatus(ctx, a, d, ghState, firstLine(text), env)
	}
	m.log.Info("deployment finished", "deployment", d.ID, "app", d.App, "env", d.Env, "status", status)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func jobsDuration(d time.Duration) string { return jobs.FormatDuration(d) }

// interrupted marks a deployment interrupted (its slot freed) and tells
// its room: opsbot stopped while it ran.
func (m *Module) interrupted(ctx context.Context, d deploy.Deployment, why string) {
	ok, err := m.records.Finish(ctx, d.ID, deploy.StatusInterrupted, why, m.clock.Now())
	if err != nil {
		m.log.Error("mark deployment interrupted", "deployment", d.ID, "err", err)
		return
	}
	if !ok {
		return
	}
	d.Status = deploy.StatusInterrupted
	text := fmt.Sprintf("deployment #%d (%s to %s by %s) was interrupted: %s. It did not finish; %s in %s is free to deploy again (`retry` in its thread).",
		d.ID, at(d.App, d.Ref), targetOf(d), d.User, why, d.App, d.Env)
	if room := jobs.ParseRoom(d.Room); room.ID != "" {
		if _, err := m.b.Post(ctx, room, chat.Post{Text: text, Severity: chat.SeverityWarning, ThreadKey: threadKey(d)}); err != nil {
			m.log.Warn("interruption not posted", "deployment", d.ID, "err", err)
		}
	}
	m.emit(ctx, d, "deploy.failed", event.Warning, firstLine(text))
	if a, ok := m.app(d.App); ok {
		m.githubStatus(ctx, a, d, "error", "interrupted: "+why, a.Environments[d.Env])
	}
	m.log.Warn("deployment interrupted", "deployment", d.ID, "why", why)
}

// abandoned is called for a deployment job whose process died: it stops
// the program that process left running and marks the deployment
// interrupted.
func (m *Module) abandoned(ctx context.Context, j store.Job) {
	id, err := deploymentOf(j)
	if err != nil {
		return
	}
	m.stopProc(ctx, id)
	d, err := m.records.Get(ctx, id)
	if err != nil || deploy.Final(d.Status) {
		return
	}
	m.interrupted(ctx, d, "opsbot stopped while it ran")
}

// sweep marks interrupted the deployments left pending or running whose
// job has ended or never existed (the job runner recovered the dead
// process's jobs before the modules start).
func (m *Module) sweep(ctx context.Context) {
	ds, err := m.records.Active(ctx)
	if err != nil {
		m.log.Error("look for interrupted deployments", "err", err)
		return
	}
	now := m.clock.Now()
	for _, d := range ds {
		if d.JobID == 0 {
			if now.Sub(d.Created) > time.Minute {
				m.interrupted(ctx, d, "it was never queued")
			}
			continue
		}
		j, err := m.st.Job(ctx, d.JobID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			continue
		}
		if errors.Is(err, store.ErrNotFound) || jobs.Finished(j.State) {
			m.stopProc(ctx, d.ID)
			m.interrupted(ctx, d, "opsbot stopped while it ran")
		}
	}
}

func (m *Module) recordProc(ctx context.Context, id int64, pgid int) {
	b, _ := json.Marshal(procgroup.MarkOf(pgid)) // plain fields: cannot fail
	if err := m.st.Put(context.WithoutCancel(ctx), procNS, strconv.FormatInt(id, 10), string(b), time.Time{}); err != nil {
		m.log.Warn("record deployment process", "deployment", id, "err", err)
	}
}

func (m *Module) forgetProc(ctx context.Context, id int64) {
	if err := m.st.Delete(context.WithoutCancel(ctx), procNS, strconv.FormatInt(id, 10)); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Warn("forget deployment process", "deployment", id, "err", err)
	}
}

func (m *Module) stopProc(ctx context.Context, id int64) {
	v, err := m.st.Get(ctx, procNS, strconv.FormatInt(id, 10), m.clock.Now())
	if err != nil {
		return
	}
	var mark procgroup.Mark
	if json.Unmarshal([]byte(v), &mark) == nil && mark.StopIfHere(5*time.Second) {
		m.log.Warn("stopped the program an interrupted deployment left running", "deployment", id, "pgid", mark.PGID)
	}
	m.forgetProc(ctx, id)
}

// emit records a deploy.* event.
func (m *Module) emit(ctx context.Context, d deploy.Deployment, tag string, sev event.Severity, title string) {
	if m.ingest == nil {
		return
	}
	e := event.Event{
		Tag: tag, Severity: sev, Title: title, Fingerprint: "deploy-" + d.App + "-" + d.Env,
		Labels: map[string]string{"app": d.App, "env": d.Env, "ref": d.Ref, "sha": d.SHA, "user": d.User,
			"deployment": strconv.FormatInt(d.ID, 10), "status": d.Status, "source": d.Source},
	}
	if tag == "deploy.succeeded" {
		e.Status = event.Resolved
	}
	if _, err := m.ingest(context.WithoutCancel(ctx), e); err != nil {
		m.log.Warn("deployment event not recorded", "deployment", d.ID, "tag", tag, "err", err)
	}
}

// canceller remembers who cancelled a deployment, for its final message.
var cancellers sync.Map

func (m *Module) setCanceller(id int64, user string) { cancellers.Store(id, user) }

func (m *Module) takeCanceller(id int64) string {
	if v, ok := cancellers.LoadAndDelete(id); ok {
		return v.(string)
	}
	return "someone"
}

// stream is where a provider's output goes: the job log (whole lines),
// the tail kept for a failure message, and progress posts in the thread.
type stream struct {
	ctx    context.Context
	run    *jobs.Run
	m      *Module
	thread chat.Ref

	// The announcement, edited with the current state while the
	// deployment runs (where the chat can edit).
	headline  string
	threadKey string
	started   time.Time

	mu      sync.Mutex
	partial []byte
	tail    []string
	pending []string
	done    chan struct{}
	stopped chan struct{} // closed when progress has returned
	closed  bool
}

func newStream(ctx context.Context, run *jobs.Run, m *Module, thread chat.Ref) *stream {
	s := &stream{ctx: ctx, run: run, m: m, thread: thread, done: make(chan struct{}), stopped: make(chan struct{})}
	if !thread.IsZero() {
		go s.progress()
	} else {
		close(s.stopped)
	}
	return s
}

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 64<<10 { // a very long line: cut it
		s.line(string(s.partial))
		s.partial = nil
	}
	return len(p), nil
}

func (s *stream) line(l string) {
	l = strings.TrimRight(l, "\r")
	if err := s.run.Log(context.WithoutCancel(s.ctx), []byte(l+"\n")); err != nil {
		s.m.log.Warn("deployment log", "job", s.run.ID(), "err", err)
	}
	masked := s.m.b.Redactor().String(l)
	s.tail = append(s.tail, masked)
	if len(s.tail) > tailLines {
		s.tail = s.tail[len(s.tail)-tailLines:]
	}
	s.pending = append(s.pending, masked)
}

// Close flushes a last partial line and stops the progress posts.
func (s *stream) Close() {
	s.mu.Lock()
	if len(s.partial) > 0 {
		s.line(string(s.partial))
		s.partial = nil
	}
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	// A progress post or state edit under way lands before the final result.
	<-s.stopped
}

// Tail is the last lines of output.
func (s *stream) Tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

func (s *stream) progress() {
	defer close(s.stopped)
	for {
		select {
		case <-s.done:
			return
		case <-s.ctx.Done():
			return
		case <-s.m.clock.After(progressEvery):
		}
		s.mu.Lock()
		lines := s.pending
		s.pending = nil
		s.mu.Unlock()
		if len(lines) == 0 {
			continue
		}
		if len(lines) > 30 {
			lines = append([]string{fmt.Sprintf("… %d lines (the whole log is in the console)", len(lines)-30)}, lines[len(lines)-30:]...)
		}
		if _, err := s.m.b.PostInThread(s.ctx, s.thread, chat.Post{Text: "```\n" + strings.Join(lines, "\n") + "\n```"}); err != nil {
			s.m.log.Warn("deployment progress not posted", "err", err)
		}
		s.showState(lines[len(lines)-1])
	}
}

// showState edits the announcement to the current state: how long it has
// run and its latest output line. Only where the chat edits posts: elsewhere
// an edit would be a new post each time, and the thread has the progress.
func (s *stream) showState(last string) {
	if s.headline == "" {
		return
	}
	a, ok := s.m.b.Sender().Adapter(s.thread.Room.Adapter)
	if !ok {
		return
	}
	if _, ok := a.(chat.Editor); !ok {
		return
	}
	if r := []rune(last); len(r) > 120 {
		last = string(r[:119]) + "…"
	}
	text := fmt.Sprintf("%s — running for %s: `%s`", s.headline, jobs.FormatDuration(s.m.clock.Now().Sub(s.started)), strings.ReplaceAll(last, "`", "'"))
	if _, err := s.m.b.Update(s.ctx, s.thread, chat.Post{Text: text, ThreadKey: s.threadKey}); err != nil {
		s.m.log.Warn("deployment announcement not updated", "err", err)
	}
}
