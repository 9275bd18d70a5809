package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/store"
)

// startReq is a deployment asked for, from chat, the API, a webhook, an
// auto-deploy or a nag.
type startReq struct {
	App, Env, Ref, Task, Hosts string
	Forced                     bool
	User                       command.Principal
	Room                       chat.Room // where it was asked (zero: the app's room)
	Source                     string    // chat, api, github, auto, nag, retry, rollback
	// CheckPermission checks deploy:<env> (and deploy:force) here: for
	// every path but a chat command whose env the bot already checked.
	CheckPermission bool
	// GitHubID is the GitHub deployment this one runs (a webhook's).
	GitHubID int64
	// Rollback is the deployment being gone back to.
	Rollback *deploy.Deployment
}

// payload is what the deployment's job record carries.
type payload struct {
	Deployment int64 `json:"deployment"`
}

// begin runs the checks and, when they pass, records the deployment,
// mirrors it to GitHub and queues its job. A refusal is a *refusal saying
// exactly why.
func (m *Module) begin(ctx context.Context, r startReq) (deploy.Deployment, error) {
	a, ok := m.app(r.App)
	if !ok {
		return deploy.Deployment{}, refuse("there is no app %q (known: %s).", r.App, strings.Join(m.apps.Names(), ", "))
	}
	r.Env = deploy.NormalizeEnv(r.Env)
	if r.Env == "" {
		r.Env = a.DefaultEnvironment
	}
	env, ok := a.Environments[r.Env]
	if !ok {
		return deploy.Deployment{}, refuse("%s has no environment %s (it has %s).", r.App, r.Env, strings.Join(a.EnvNames(), ", "))
	}
	if r.Ref == "" {
		r.Ref = a.DefaultBranch
	}
	if r.Task == "" {
		r.Task = "deploy"
	}
	if !deploy.ValidRef(r.Ref) {
		return deploy.Deployment{}, refuse("%q is not a branch, tag or commit name.", r.Ref)
	}
	if r.Hosts != "" {
		for _, h := range strings.Split(r.Hosts, ",") {
			if !contains(env.Hosts, h) {
				return deploy.Deployment{}, refuse("%s in %s has no host %s (hosts: %s).", r.App, r.Env, h, strings.Join(env.Hosts, ", "))
			}
		}
	}
	room := r.Room
	if room.ID == "" {
		room = m.resolveRoom(a.EnvRoom(r.Env))
	}

	// 1. Permission.
	if r.CheckPermission {
		if err := m.permitted(ctx, r, room); err != nil {
			return deploy.Deployment{}, err
		}
	}
	// 2. Allowed rooms (for what is asked in a room).
	if r.Room.ID != "" && len(a.AllowedRooms) > 0 && !roomAllowed(a.AllowedRooms, r.Room) {
		return deploy.Deployment{}, refuse("%s can't be deployed from %s; deploy it from %s.", r.App, roomName(r.Room), strings.Join(a.AllowedRooms, " or "))
	}
	now := m.clock.Now()
	// 3. Lock.
	if l, err := m.locks.Get(ctx, r.App, r.Env, now); err == nil {
		return deploy.Deployment{}, refuse("%s in %s is %s. `deploy:unlock %s in %s` when it is safe.", r.App, r.Env, l.Describe(now), r.App, r.Env)
	} else if !errors.Is(err, deploy.ErrNotFound) {
		return deploy.Deployment{}, err
	}
	// 4. One at a time (checked here for a clear answer before any
	// remote call; Create checks again atomically).
	if busy, err := m.activeOf(ctx, r.App, r.Env); err != nil {
		return deploy.Deployment{}, err
	} else if busy != nil {
		return deploy.Deployment{}, busyRefusal(*busy, now)
	}
	// 5. The commit.
	hist, err := m.history(a)
	if err != nil {
		return deploy.Deployment{}, err
	}
	sha := ""
	if hist != nil {
		if sha, err = hist.Resolve(ctx, r.Ref); errors.Is(err, deploy.ErrUnknownRef) {
			return deploy.Deployment{}, refuse("%s has no branch, tag or commit %q.", r.App, r.Ref)
		} else if err != nil {
			return deploy.Deployment{}, fmt.Errorf("resolve %s: %w", at(r.App, r.Ref), err)
		}
	}
	// 6. Required contexts, unless forced.
	if !r.Forced && len(a.RequiredContexts) > 0 {
		if err := m.checkContexts(ctx, a, r.App, r.Ref, sha); err != nil {
			return deploy.Deployment{}, err
		}
	}
	// 7. Behind the default branch.
	if !r.Forced && hist != nil && r.Ref != a.DefaultBranch {
		if sha, err = m.checkBehind(ctx, a, hist, r, sha); err != nil {
			return deploy.Deployment{}, err
		}
	}

	d := deploy.Deployment{
		App: r.App, Env: r.Env, Ref: r.Ref, SHA: sha, Task: r.Task, Hosts: r.Hosts, User: r.User.Name, Source: r.Source,
		Room: jobs.RoomKey(room), Provider: a.Provider, Forced: r.Forced, GitHubID: r.GitHubID, Created: now,
	}
	if prev, err := m.records.LastSuccess(ctx, r.App, r.Env, 0); err == nil {
		d.PreviousSHA = prev.SHA
	}
	d, err = m.records.Create(ctx, d)
	var busy *deploy.Busy
	if errors.As(err, &busy) {
		return d, busyRefusal(busy.Active, now)
	}
	if err != nil {
		return d, err
	}
	m.log.Info("deployment queued", "deployment", d.ID, "app", d.App, "env", d.Env, "ref", d.Ref, "user", d.User, "source", d.Source, "forced", d.Forced)
	if d.GitHubID == 0 {
		m.mirror(ctx, a, &d, env)
	}
	pl, _ := json.Marshal(payload{Deployment: d.ID}) // plain fields: cannot fail
	j, err := m.runner.Enqueue(ctx, JobKind, store.Job{
		Command: describe(d), Args: map[string]string{"app": d.App, "env": d.Env, "ref": d.Ref},
		UserName: d.User, Room: d.Room, Payload: string(pl),
	})
	if err != nil {
		_, _ = m.records.Finish(context.WithoutCancel(ctx), d.ID, deploy.StatusError, "could not be queued: "+err.Error(), m.clock.Now())
		return d, fmt.Errorf("queue deployment #%d: %w", d.ID, err)
	}
	d.JobID = j.ID
	if err := m.records.SetJob(ctx, d.ID, j.ID, ""); err != nil {
		return d, err
	}
	return d, nil
}

// describe is "deploy api/main to staging" (with task and hosts).
func describe(d deploy.Deployment) string {
	s := d.Task
	if d.Forced {
		s += "!"
	}
	s += " " + at(d.App, d.Ref) + " to " + d.Env
	if d.Hosts != "" {
		s += "/" + d.Hosts
	}
	return s
}
