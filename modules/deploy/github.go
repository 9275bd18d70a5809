package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store"
)

// mirror creates the deployment on GitHub (when the app has a repository
// and a token) so other tools see it. A failure is logged: GitHub being
// down does not stop a deployment.
func (m *Module) mirror(ctx context.Context, a *deploy.App, d *deploy.Deployment, env *deploy.Environment) {
	gh := m.github(a)
	if gh == nil {
		return
	}
	ref := d.SHA
	if ref == "" {
		ref = d.Ref
	}
	gd, err := gh.CreateDeployment(ctx, a.Repository, deploy.DeploymentRequest{
		Ref: ref, Task: d.Task, Environment: d.Env, Description: describe(*d) + " by " + d.User,
		Payload:               map[string]any{"opsbot": map[string]any{"deployment": d.ID, "user": d.User, "ref": d.Ref, "hosts": d.Hosts}},
		ProductionEnvironment: env != nil && env.Production,
	})
	if err != nil {
		m.log.Warn("deployment not mirrored to GitHub", "deployment", d.ID, "repo", a.Repository, "err", err)
		return
	}
	d.GitHubID = gd.ID
	if err := m.records.SetGitHubID(ctx, d.ID, gd.ID); err != nil {
		m.log.Warn("record GitHub deployment", "deployment", d.ID, "err", err)
	}
	m.githubStatus(ctx, a, *d, "queued", "queued by "+d.User, env)
}

// githubStatus reports a deployment's state to its GitHub mirror.
func (m *Module) githubStatus(ctx context.Context, a *deploy.App, d deploy.Deployment, state, desc string, env *deploy.Environment) {
	gh := m.github(a)
	if gh == nil || d.GitHubID == 0 {
		return
	}
	s := deploy.DeploymentStatus{State: state, Description: desc, Environment: d.Env}
	if env != nil && state == "success" {
		s.EnvironmentURL = env.URL
	}
	if err := gh.CreateDeploymentStatus(context.WithoutCancel(ctx), a.Repository, d.GitHubID, s); err != nil {
		m.log.Warn("deployment status not sent to GitHub", "deployment", d.ID, "state", state, "err", err)
	}
}

// appByRepo finds the app of a GitHub repository.
func (m *Module) appByRepo(repo string) (string, *deploy.App) {
	for _, name := range m.apps.Names() {
		if a := m.apps[name]; strings.EqualFold(a.Repository, repo) {
			return name, a
		}
	}
	return "", nil
}

// onGitHubDeployment runs a deployment another tool created on GitHub
// (heaven's role) through the same checks and provider.
func (m *Module) onGitHubDeployment(ctx context.Context, e event.Event) error {
	name, a := m.appByRepo(e.Labels["repo"])
	if a == nil {
		return nil
	}
	ghID, err := strconv.ParseInt(e.Labels["deployment_id"], 10, 64)
	if err != nil || ghID == 0 {
		return nil
	}
	if _, err := m.records.ByGitHubID(ctx, ghID); err == nil {
		return nil // opsbot's own
	}
	gh := m.github(a)
	if gh == nil {
		m.log.Warn("a GitHub deployment for an app without a GitHub token: ignored", "app", name)
		return nil
	}
	gd, err := gh.Deployment(ctx, a.Repository, ghID)
	if err != nil {
		return err
	}
	var pl struct {
		Opsbot *struct {
			Deployment int64 `json:"deployment"`
		} `json:"opsbot"`
		Hosts string `json:"hosts"`
	}
	_ = json.Unmarshal(gd.Payload, &pl)
	if pl.Opsbot != nil {
		return nil // created by opsbot (its record may not carry the id yet)
	}
	env := deploy.NormalizeEnv(gd.Environment)
	fail := func(msg string) error {
		_ = gh.CreateDeploymentStatus(ctx, a.Repository, ghID, deploy.DeploymentStatus{State: "error", Description: msg, Environment: gd.Environment})
		room := m.resolveRoom(a.EnvRoom(env))
		if room.ID != "" {
			_, _ = m.b.Post(ctx, room, chat.Post{Text: "GitHub deployment " + strconv.FormatInt(ghID, 10) + " of " + at(name, gd.Ref) + " not run: " + msg, Severity: chat.SeverityWarning})
		}
		return nil
	}
	creator := gd.Creator.Login
	if creator == "" {
		creator = e.Labels["sender"]
	}
	principal, err := m.principalOfLogin(ctx, creator)
	if err != nil {
		return fail(err.Error())
	}
	task := gd.Task
	if task == "" {
		task = "deploy"
	}
	_, err = m.begin(ctx, startReq{
		App: name, Env: env, Ref: gd.Ref, Task: task, Hosts: pl.Hosts, User: principal, Source: "github",
		CheckPermission: true, GitHubID: ghID,
	})
	var r *refusal
	if errors.As(err, &r) {
		return fail(r.msg)
	}
	return err
}

// principalOfLogin is the opsbot user whose identity is github:LOGIN.
func (m *Module) principalOfLogin(ctx context.Context, login string) (command.Principal, error) {
	if login == "" {
		return command.Principal{}, errors.New("the deployment has no creator")
	}
	u, err := m.st.UserByIdentity(ctx, "github", login)
	if errors.Is(err, store.ErrNotFound) {
		return command.Principal{}, errors.New("GitHub user " + login + " is not linked to an opsbot user (add the identity github:" + login + ")")
	}
	if err != nil {
		return command.Principal{}, err
	}
	groups, err := m.st.GroupsOf(ctx, u.ID)
	if err != nil {
		return command.Principal{}, err
	}
	return command.Principal{UserID: u.ID, Name: u.Name, Groups: groups, Identity: chat.Identity{Adapter: "github", ID: login, Name: login}}, nil
}

// onCI deploys the default branch to the auto-deploy environments when a
// status, check suite or workflow run shows it green.
func (m *Module) onCI(ctx context.Context, e event.Event) error {
	name, a := m.appByRepo(e.Labels["repo"])
	if a == nil {
		return nil
	}
	sha := e.Labels["sha"]
	switch e.Tag {
	case "ci.github.status":
		if e.Labels["state"] != "success" {
			return nil
		}
	case "ci.github.check_suite", "ci.github.workflow_run":
		if e.Labels["conclusion"] != "success" {
			return nil
		}
	default:
		return nil
	}
	envs, err := m.autoEnvs(ctx, name)
	if err != nil || len(envs) == 0 || sha == "" {
		return err
	}
	hist, err := m.history(a)
	if err != nil || hist == nil {
		return err
	}
	head, err := hist.Resolve(ctx, a.DefaultBranch)
	if err != nil {
		return err
	}
	if head != sha {
		return nil // not the default branch's head
	}
	if len(a.RequiredContexts) > 0 {
		if err := m.checkContexts(ctx, a, name, a.DefaultBranch, sha); err != nil {
			return nil // not all green yet: a later event will be
		}
	}
	for _, env := range envs {
		if last, err := m.records.List(ctx, deploy.Filter{App: name, Env: env, Limit: 1}); err == nil && len(last) > 0 && last[0].SHA == sha {
			continue // already deployed (or deploying) this commit
		}
		user := command.Principal{Name: "auto-deploy", Identity: chat.Identity{Adapter: "opsbot", ID: "auto-deploy", Name: "auto-deploy"}}
		_, err := m.begin(ctx, startReq{App: name, Env: env, Ref: a.DefaultBranch, Task: "deploy", User: user, Source: "auto"})
		var r *refusal
		if errors.As(err, &r) {
			room := m.resolveRoom(a.EnvRoom(env))
			if room.ID != "" {
				_, _ = m.b.Post(ctx, room, chat.Post{Text: "auto-deploy of " + at(name, a.DefaultBranch) + " to " + env + " skipped: " + r.msg, Severity: chat.SeverityWarning})
			}
			continue
		}
		if err != nil {
			m.log.Warn("auto-deploy", "app", name, "env", env, "err", err)
		}
	}
	return nil
}
