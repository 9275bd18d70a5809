package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/deploy"
)

// drift is how an environment stands against the default branch.
type drift struct {
	App, Env   string
	Deployed   deploy.Deployment // the last successful deployment (zero: never)
	Head       string            // the default branch's commit
	Comparison deploy.Comparison // base: deployed, head: default branch
}

// Behind are the default branch's commits the environment lacks.
func (d drift) Behind() []deploy.Commit { return d.Comparison.Ahead }

// Ahead are the deployed commits the default branch lacks.
func (d drift) Ahead() []deploy.Commit { return d.Comparison.Behind }

func (m *Module) driftOf(ctx context.Context, app, env string) (drift, error) {
	a, _ := m.app(app)
	dr := drift{App: app, Env: env}
	last, err := m.records.LastSuccess(ctx, app, env, 0)
	if errors.Is(err, deploy.ErrNotFound) {
		return dr, nil
	}
	if err != nil {
		return dr, err
	}
	dr.Deployed = last
	hist, err := m.history(a)
	if err != nil {
		return dr, err
	}
	if hist == nil {
		return dr, fmt.Errorf("%s has neither git_url nor a GitHub repository and token: its history is unknown", app)
	}
	if dr.Head, err = hist.Resolve(ctx, a.DefaultBranch); err != nil {
		return dr, fmt.Errorf("resolve %s: %w", a.DefaultBranch, err)
	}
	base := last.SHA
	if base == "" {
		if base, err = hist.Resolve(ctx, last.Ref); err != nil {
			return dr, fmt.Errorf("resolve %s: %w", last.Ref, err)
		}
	}
	dr.Comparison, err = hist.Compare(ctx, base, dr.Head)
	return dr, err
}

func (m *Module) describeDrift(dr drift, branch string, now time.Time, mention func(deploy.Commit) string) string {
	if dr.Deployed.ID == 0 {
		return fmt.Sprintf("%s in %s: never deployed.", dr.App, dr.Env)
	}
	dep := fmt.Sprintf("deployed %s (%s, #%d, %s ago)", dr.Deployed.Ref, deploy.ShortSHA(dr.Deployed.SHA), dr.Deployed.ID, deploy.Ago(now.Sub(dr.Deployed.Finished)))
	behind, ahead := dr.Behind(), dr.Ahead()
	var b strings.Builder
	state := "diverged"
	switch {
	case len(behind) == 0 && len(ahead) == 0:
		state = "identical"
	case len(ahead) == 0:
		state = "behind"
	case len(behind) == 0:
		state = "ahead"
	}
	switch state {
	case "identical":
		fmt.Fprintf(&b, "%s in %s: up to date with %s — %s.", dr.App, dr.Env, branch, dep)
	case "behind":
		fmt.Fprintf(&b, "%s in %s: %s behind %s (%s) — %s:", dr.App, dr.Env, deploy.Count(len(behind)), branch, deploy.ShortSHA(dr.Head), dep)
	case "ahead":
		fmt.Fprintf(&b, "%s in %s: %s ahead of %s (%s) — %s:", dr.App, dr.Env, deploy.Count(len(ahead)), branch, deploy.ShortSHA(dr.Head), dep)
	default:
		fmt.Fprintf(&b, "%s in %s: diverged from %s (%s): %s ahead, %s behind — %s:", dr.App, dr.Env, branch, deploy.ShortSHA(dr.Head),
			deploy.Count(len(ahead)), deploy.Count(len(behind)), dep)
	}
	list := func(title string, cs []deploy.Commit) {
		if len(cs) == 0 {
			return
		}
		if title != "" {
			b.WriteString("\n" + title)
		}
		for i, c := range cs {
			if i == 10 {
				fmt.Fprintf(&b, "\n  … and %d more", len(cs)-10)
				break
			}
			who := c.AuthorName
			if mention != nil {
				who = mention(c)
			}
			fmt.Fprintf(&b, "\n• %s %s — %s", c.Short(), c.Subject, who)
		}
	}
	if state == "diverged" {
		list("not deployed:", behind)
		list("deployed, not on "+branch+":", ahead)
	} else {
		list("", behind)
		list("", ahead)
	}
	return b.String()
}

func (m *Module) cmdStatus(ctx context.Context, c *command.Call) error {
	apps := m.apps.Names()
	if app := c.Args["app"]; app != "" {
		apps = []string{app}
	}
	now := m.clock.Now()
	var parts []string
	for _, app := range apps {
		a, _ := m.app(app)
		envs := a.EnvNames()
		if env := c.Args["env"]; env != "" {
			if _, ok := a.Environments[env]; !ok {
				if len(apps) == 1 {
					return tell(ctx, c, refuse("%s has no environment %s.", app, env))
				}
				continue
			}
			envs = []string{env}
		}
		for _, env := range envs {
			dr, err := m.driftOf(ctx, app, env)
			if err != nil {
				parts = append(parts, fmt.Sprintf("%s in %s: %v", app, env, err))
				continue
			}
			parts = append(parts, m.describeDrift(dr, a.DefaultBranch, now, nil))
		}
	}
	if len(parts) == 0 {
		return c.Replyf(ctx, "no app has that environment.")
	}
	return c.Replyf(ctx, "%s", strings.Join(parts, "\n\n"))
}

// scheduler is the schedules module's contract.
type scheduler interface {
	ScheduleFunc(name, when string, loc *time.Location, run func(ctx context.Context, at time.Time) error) error
}

// registerNags registers a drift check per app and environment with the
// schedules module; without one, nags are off (logged).
func (m *Module) registerNags() {
	var s scheduler
	for _, mod := range m.b.Modules() {
		if sc, ok := mod.(scheduler); ok {
			s = sc
			break
		}
	}
	for _, app := range m.apps.Names() {
		a := m.apps[app]
		if a.DriftCheck == "" {
			continue
		}
		if s == nil {
			m.log.Warn("drift checks need the schedules module, which is not running: no nags", "app", app)
			continue
		}
		for _, env := range a.EnvNames() {
			app, env := app, env
			name := "deploy.drift/" + app + "/" + env
			if err := s.ScheduleFunc(name, a.DriftCheck, nil, func(ctx context.Context, _ time.Time) error {
				return m.Nag(ctx, app, env)
			}); err != nil {
				m.log.Error("drift check not scheduled", "schedule", name, "err", err)
			}
		}
	}
}

// nagData is what a nag's thread remembers.
type nagData struct {
	App  string `json:"app"`
	Env  string `json:"env"`
	Head string `json:"head"`
}

// Nag posts, when app in env lags behind the default branch, which commits
// are pending and by whom (mentioning their chat users), in a thread where
// `ok deploy` starts the deployment.
func (m *Module) Nag(ctx context.Context, app, env string) error {
	a, ok := m.app(app)
	if !ok {
		return fmt.Errorf("nag: no app %s", app)
	}
	dr, err := m.driftOf(ctx, app, env)
	if err != nil {
		return fmt.Errorf("nag %s in %s: %w", app, env, err)
	}
	if dr.Deployed.ID == 0 || len(dr.Behind()) == 0 {
		return nil
	}
	room := m.resolveRoom(a.EnvRoom(env))
	if room.ID == "" {
		return fmt.Errorf("nag %s in %s: the app has no room", app, env)
	}
	var mentions []string
	seen := map[string]bool{}
	mention := func(c deploy.Commit) string {
		ids := m.chatIDsOf(ctx, c, room.Adapter)
		if len(ids) == 0 {
			return c.AuthorName
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				mentions = append(mentions, id)
			}
		}
		return "@" + ids[0]
	}
	text := m.describeDrift(dr, a.DefaultBranch, m.clock.Now(), mention)
	text += fmt.Sprintf("\nReply `ok deploy` in this thread to deploy %s (%s) to %s.", a.DefaultBranch, deploy.ShortSHA(dr.Head), env)
	data, _ := json.Marshal(nagData{App: app, Env: env, Head: dr.Head}) // plain fields: cannot fail
	_, err = m.b.OpenThread(ctx, room, threadNag, string(data), chat.Post{Text: text, Mentions: mentions})
	return err
}

// chatIDsOf are the chat IDs, on adapter, of the opsbot user who wrote c:
// found by the identity github:LOGIN, else git:EMAIL.
func (m *Module) chatIDsOf(ctx context.Context, c deploy.Commit, adapter string) []string {
	keys := [][2]string{}
	if c.AuthorLogin != "" {
		keys = append(keys, [2]string{"github", c.AuthorLogin})
	}
	if c.AuthorEmail != "" {
		keys = append(keys, [2]string{"git", c.AuthorEmail})
	}
	for _, k := range keys {
		u, err := m.st.UserByIdentity(ctx, k[0], k[1])
		if err != nil {
			continue
		}
		ids, err := m.st.IdentitiesOf(ctx, u.ID)
		if err != nil {
			continue
		}
		var out []string
		for _, id := range ids {
			if id.Adapter == adapter {
				out = append(out, id.ChatID)
			}
		}
		return out
	}
	return nil
}

func (m *Module) cmdOK(ctx context.Context, c *command.Call) error {
	var nd nagData
	if err := json.Unmarshal([]byte(c.ThreadData), &nd); err != nil || nd.App == "" {
		return fmt.Errorf("ok deploy: bad thread data")
	}
	a, ok := m.app(nd.App)
	if !ok {
		return tell(ctx, c, refuse("%s is no longer configured.", nd.App))
	}
	_, err := m.begin(ctx, startReq{
		App: nd.App, Env: nd.Env, Ref: a.DefaultBranch, Task: "deploy", User: c.User, Room: c.Msg.Room,
		Source: "nag", CheckPermission: true,
	})
	return tell(ctx, c, err)
}
