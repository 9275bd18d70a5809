package deploy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/jobs"
)

// commonDefaultEnv is "=ENV" when every app has the same default
// environment, so that `deploy api` is checked against deploy:ENV by the
// bot; with differing defaults the env-less form needs `deploy` (and the
// app's default environment's permission, checked by the handler).
func (m *Module) commonDefaultEnv() string {
	common := ""
	for _, name := range m.apps.Names() {
		d := m.apps[name].DefaultEnvironment
		if common != "" && d != common {
			return ""
		}
		common = d
	}
	if common == "" {
		return ""
	}
	return "=" + common
}

func (m *Module) commands() []command.Spec {
	return []command.Spec{
		{
			Name:    "deploy",
			Grammar: "deploy[:{task:deploy-task}][!] {app:deploy-app}[/{ref}] [to|in|on {env:deploy-env" + m.commonDefaultEnv() + "}[/{hosts}]]",
			Help:    "deploy an app (default branch, default environment); `deploy!` skips the required checks",
			// The permission is checked again for the app's default
			// environment when none is given.
			Permission: "deploy:{env}", ForceFlag: "!", ForcePermission: "deploy:force",
			SideEffects: true, Run: m.cmdDeploy,
		},
		{Name: "deploy.where", Grammar: "where can i deploy {app:deploy-app}", Help: "the environments an app can be deployed to", Run: m.cmdWhere},
		{Name: "deploy.history", Grammar: "deploys {app:deploy-app}[/{ref}] [in|to|on {env:deploy-env}]", Help: "recent deployments of an app", Run: m.cmdHistory},
		{
			Name: "deploy.lock", Grammar: "deploy:lock {app:deploy-app} in|on {env:deploy-env} [for {for:duration}] [{reason...}]",
			Help: "lock an environment so nobody deploys it (with a reason, optionally for a while)", Permission: "deploy:lock:{env}",
			SideEffects: true, Run: m.cmdLock,
		},
		{
			Name: "deploy.unlock", Grammar: "deploy:unlock {app:deploy-app} in|on {env:deploy-env}", Help: "unlock an environment",
			Permission: "deploy:lock:{env}", SideEffects: true, Run: m.cmdUnlock,
		},
		{Name: "deploy.locks", Grammar: "deploy:locks", Help: "the locked environments", Run: m.cmdLocks},
		{
			Name: "rollback", Grammar: "rollback {app:deploy-app} in|on|from {env:deploy-env}",
			Help: "deploy the last successful ref before the current one", Permission: "deploy:{env}", SideEffects: true, Run: m.cmdRollback,
		},
		{Name: "deploy.status", Grammar: "deploy-status [for {app:deploy-app}] [in|on {env:deploy-env}]", Help: "what is deployed against the default branch", Run: m.cmdStatus},
		{
			Name: "auto-deploy", Grammar: "auto-deploy:{action:enum(enable|disable)} {app:deploy-app} in|on|to {env:deploy-env}",
			Help: "switch deploying the default branch when it turns green", Permission: "deploy:auto:{env}", SideEffects: true, Run: m.cmdAuto,
		},
		{Name: "auto-deploy.status", Grammar: "auto-deploy:status {app:deploy-app}", Help: "where an app is deployed automatically", Run: m.cmdAutoStatus},
		{
			Name: "deploy.cancel", Grammar: "cancel deploy[ment] [#]{id:int}", Help: "stop a running deployment",
			Permission: "deploy:cancel", SideEffects: true, Run: m.cmdCancel,
		},
		{
			Name: "deploy.retry", Grammar: "retry", Help: "run a failed deployment again (in its thread)", Thread: threadDeploy,
			// No permission here: the deployment's own (deploy:<env>) is
			// checked when it starts again.
			Run: m.cmdRetry,
		},
		{
			Name: "deploy.ok", Grammar: "ok deploy", Help: "start the pending deployment a drift nag is about (in its thread)", Thread: threadNag,
			Run: m.cmdOK,
		},
	}
}

// refusal is a reason not to deploy, told to the user as it is.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, args ...any) error { return &refusal{msg: fmt.Sprintf(format, args...)} }

// reported is an error already told in chat.
type reported struct{ msg string }

func (e reported) Error() string        { return e.msg }
func (e reported) Is(target error) bool { return target == bot.ErrReported }

// tell replies with a refusal's text and returns an error the bot audits
// without replying again; other errors go back as they are.
func tell(ctx context.Context, c *command.Call, err error) error {
	var r *refusal
	if errors.As(err, &r) {
		if _, perr := c.Reply(ctx, chat.Post{Text: r.msg, Severity: chat.SeverityWarning}); perr != nil {
			return perr
		}
		return reported{msg: "refused: " + r.msg}
	}
	return err
}

func (m *Module) cmdDeploy(ctx context.Context, c *command.Call) error {
	a, _ := m.app(c.Args["app"])
	env := c.Args["env"]
	if env == "" {
		env = a.DefaultEnvironment
	}
	task := "deploy"
	if t := c.Args["task"]; t != "" {
		task = "deploy:" + t
	}
	req := startReq{
		App: c.Args["app"], Env: env, Ref: c.Args["ref"], Task: task, Hosts: c.Args["hosts"], Forced: c.Forced(),
		User: c.User, Room: c.Msg.Room, Source: "chat", CheckPermission: c.Args["env"] == "",
	}
	if c.DryRun {
		return c.Replyf(ctx, "dry run: would deploy %s to %s with the %s provider.", at(req.App, refOr(req.Ref, a.DefaultBranch)), env, a.Provider)
	}
	_, err := m.begin(ctx, req)
	return tell(ctx, c, err)
}

func refOr(ref, def string) string {
	if ref == "" {
		return def
	}
	return ref
}

func at(app, ref string) string { return app + "/" + ref }

func (m *Module) cmdWhere(ctx context.Context, c *command.Call) error {
	a, _ := m.app(c.Args["app"])
	var b strings.Builder
	fmt.Fprintf(&b, "%s can be deployed to:", c.Args["app"])
	for _, env := range a.EnvNames() {
		e := a.Environments[env]
		line := "\n• " + env
		if env == a.DefaultEnvironment {
			line += " (default)"
		}
		if len(e.Hosts) > 0 {
			line += " — hosts " + strings.Join(e.Hosts, ", ")
		}
		if e.URL != "" {
			line += " — " + e.URL
		}
		b.WriteString(line)
	}
	fmt.Fprintf(&b, "\nprovider %s, default branch %s", a.Provider, a.DefaultBranch)
	return c.Replyf(ctx, "%s", b.String())
}

func (m *Module) cmdHistory(ctx context.Context, c *command.Call) error {
	ds, err := m.records.List(ctx, deploy.Filter{App: c.Args["app"], Env: c.Args["env"], Ref: c.Args["ref"], Limit: 10})
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return c.Replyf(ctx, "no deployments of %s yet.", c.Args["app"])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "recent deployments of %s:", c.Args["app"])
	now := m.clock.Now()
	for _, d := range ds {
		fmt.Fprintf(&b, "\n#%d %s (%s) to %s by %s, %s ago: %s", d.ID, at(d.App, d.Ref), deploy.ShortSHA(d.SHA), d.Env, d.User, deploy.Ago(now.Sub(d.Created)), d.Status)
	}
	return c.Replyf(ctx, "%s", b.String())
}

func (m *Module) cmdLock(ctx context.Context, c *command.Call) error {
	l := deploy.Lock{App: c.Args["app"], Env: c.Args["env"], User: c.User.Name, Reason: c.Args["reason"]}
	if !m.hasEnv(l.App, l.Env) {
		return tell(ctx, c, refuse("%s has no environment %s.", l.App, l.Env))
	}
	now := m.clock.Now()
	if d := c.Args.Duration("for"); d > 0 {
		l.Expires = now.Add(d)
	}
	got, err := m.locks.Lock(ctx, l, now)
	if errors.Is(err, deploy.ErrLocked) {
		return tell(ctx, c, refuse("%s in %s is already %s.", l.App, l.Env, got.Describe(now)))
	}
	if err != nil {
		return err
	}
	return c.Replyf(ctx, "locked %s in %s: nobody can deploy it until %s.", l.App, l.Env, untilText(got))
}

func untilText(l deploy.Lock) string {
	if l.Expires.IsZero() {
		return "`deploy:unlock " + l.App + " in " + l.Env + "`"
	}
	return l.Expires.UTC().Format("2006-01-02 15:04 MST") + " or `deploy:unlock " + l.App + " in " + l.Env + "`"
}

func (m *Module) cmdUnlock(ctx context.Context, c *command.Call) error {
	l, err := m.locks.Unlock(ctx, c.Args["app"], c.Args["env"], m.clock.Now())
	if errors.Is(err, deploy.ErrNotFound) {
		return tell(ctx, c, refuse("%s in %s is not locked.", c.Args["app"], c.Args["env"]))
	}
	if err != nil {
		return err
	}
	extra := ""
	if l.User != c.User.Name {
		extra = fmt.Sprintf(" (it was locked by %s)", l.User)
	}
	return c.Replyf(ctx, "unlocked %s in %s%s.", l.App, l.Env, extra)
}

func (m *Module) cmdLocks(ctx context.Context, c *command.Call) error {
	now := m.clock.Now()
	ls, err := m.locks.List(ctx, now)
	if err != nil {
		return err
	}
	if len(ls) == 0 {
		return c.Replyf(ctx, "no environment is locked.")
	}
	var b strings.Builder
	b.WriteString("locked:")
	for _, l := range ls {
		fmt.Fprintf(&b, "\n• %s in %s: %s", l.App, l.Env, l.Describe(now))
	}
	return c.Replyf(ctx, "%s", b.String())
}

func (m *Module) cmdRollback(ctx context.Context, c *command.Call) error {
	app, env := c.Args["app"], c.Args["env"]
	if !m.hasEnv(app, env) {
		return tell(ctx, c, refuse("%s has no environment %s.", app, env))
	}
	cur, err := m.records.LastSuccess(ctx, app, env, 0)
	if errors.Is(err, deploy.ErrNotFound) {
		return tell(ctx, c, refuse("nothing to roll back: %s has never been deployed to %s successfully.", app, env))
	}
	if err != nil {
		return err
	}
	prev, err := m.previousDistinct(ctx, cur)
	if errors.Is(err, deploy.ErrNotFound) {
		return tell(ctx, c, refuse("nothing to roll back to: #%d (%s) is the only successful deployment of %s to %s.", cur.ID, at(app, cur.Ref), app, env))
	}
	if err != nil {
		return err
	}
	ref := prev.SHA
	if ref == "" {
		ref = prev.Ref
	}
	_, err = m.begin(ctx, startReq{
		App: app, Env: env, Ref: ref, Task: "deploy", User: c.User, Room: c.Msg.Room, Source: "rollback",
		Rollback: &prev, Forced: true, // the ref ran there before: no required-context or behind check
	})
	return tell(ctx, c, err)
}

// previousDistinct is the newest successful deployment before cur of a
// different commit.
func (m *Module) previousDistinct(ctx context.Context, cur deploy.Deployment) (deploy.Deployment, error) {
	before := cur.ID
	for {
		p, err := m.records.LastSuccess(ctx, cur.App, cur.Env, before)
		if err != nil {
			return p, err
		}
		if p.SHA != cur.SHA || p.SHA == "" && p.Ref != cur.Ref {
			return p, nil
		}
		before = p.ID
	}
}

func (m *Module) cmdAuto(ctx context.Context, c *command.Call) error {
	app, env := c.Args["app"], c.Args["env"]
	if !m.hasEnv(app, env) {
		return tell(ctx, c, refuse("%s has no environment %s.", app, env))
	}
	on := c.Args["action"] == "enable"
	if err := m.auto.Set(ctx, app, env, on, c.User.Name, m.clock.Now()); err != nil {
		return err
	}
	a, _ := m.app(app)
	if on {
		return c.Replyf(ctx, "auto-deploy of %s to %s is on: when %s turns green it is deployed there.", app, env, a.DefaultBranch)
	}
	return c.Replyf(ctx, "auto-deploy of %s to %s is off.", app, env)
}

func (m *Module) cmdAutoStatus(ctx context.Context, c *command.Call) error {
	app := c.Args["app"]
	envs, err := m.autoEnvs(ctx, app)
	if err != nil {
		return err
	}
	a, _ := m.app(app)
	if len(envs) == 0 {
		return c.Replyf(ctx, "%s is not deployed automatically anywhere.", app)
	}
	return c.Replyf(ctx, "%s/%s is deployed automatically to %s when it turns green.", app, a.DefaultBranch, strings.Join(envs, ", "))
}

func (m *Module) cmdCancel(ctx context.Context, c *command.Call) error {
	id := int64(c.Args.Int("id"))
	d, err := m.records.Get(ctx, id)
	if errors.Is(err, deploy.ErrNotFound) {
		return tell(ctx, c, refuse("there is no deployment #%d.", id))
	}
	if err != nil {
		return err
	}
	if deploy.Final(d.Status) {
		return tell(ctx, c, refuse("deployment #%d has already finished (%s).", id, d.Status))
	}
	if d.Status == deploy.StatusPending {
		// Not started: recorded here (a queued job that is cancelled never
		// runs; one that starts anyway sees the final status and stops).
		if _, err := m.records.Finish(ctx, id, deploy.StatusCancelled, "cancelled by "+c.User.Name+" before it started", m.clock.Now()); err != nil {
			return err
		}
		if d.JobID != 0 {
			if err := m.runner.Cancel(ctx, d.JobID); err != nil && !errors.Is(err, jobs.ErrFinished) {
				m.log.Warn("cancel a queued deployment's job", "deployment", id, "err", err)
			}
		}
		return c.Replyf(ctx, "cancelled deployment #%d before it started.", id)
	}
	m.setCanceller(id, c.User.Name)
	if err := m.runner.Cancel(ctx, d.JobID); err != nil && !errors.Is(err, jobs.ErrFinished) {
		return err
	}
	return c.Replyf(ctx, "stopping deployment #%d (%s to %s)…", id, at(d.App, d.Ref), d.Env)
}

func (m *Module) cmdRetry(ctx context.Context, c *command.Call) error {
	id, err := strconv.ParseInt(c.ThreadData, 10, 64)
	if err != nil {
		return fmt.Errorf("retry: bad thread data %q", c.ThreadData)
	}
	d, err := m.records.Get(ctx, id)
	if err != nil {
		return err
	}
	switch d.Status {
	case deploy.StatusFailure, deploy.StatusError, deploy.StatusCancelled, deploy.StatusInterrupted:
	default:
		return tell(ctx, c, refuse("deployment #%d did not fail (%s): nothing to retry.", id, d.Status))
	}
	_, err = m.begin(ctx, startReq{
		App: d.App, Env: d.Env, Ref: d.Ref, Task: d.Task, Hosts: d.Hosts, Forced: d.Forced, User: c.User,
		Room: jobs.ParseRoom(d.Room), Source: "retry", CheckPermission: true,
	})
	return tell(ctx, c, err)
}

// hasEnv reports whether app has environment env.
func (m *Module) hasEnv(app, env string) bool {
	a, ok := m.app(app)
	if !ok {
		return false
	}
	_, ok = a.Environments[env]
	return ok
}

// autoEnvs are the environments app is deployed to automatically: the
// config's list with chat's switches applied.
func (m *Module) autoEnvs(ctx context.Context, app string) ([]string, error) {
	a, ok := m.app(app)
	if !ok {
		return nil, nil
	}
	over, err := m.auto.Overrides(ctx, app)
	if err != nil {
		return nil, err
	}
	list := a.AutoDeploy
	if list == nil {
		if _, ok := a.Environments["qa"]; ok {
			list = []string{"qa"} // QA by default
		}
	}
	var out []string
	for _, env := range a.EnvNames() {
		on := false
		for _, e := range list {
			on = on || e == env
		}
		if s, ok := over[env]; ok {
			on = s.Enabled
		}
		if on {
			out = append(out, env)
		}
	}
	return out, nil
}
