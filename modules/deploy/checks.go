package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsbot/opsbot/auth"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/deploy"
)

func busyRefusal(a deploy.Deployment, now time.Time) error {
	if a.ID == 0 {
		return refuse("%s is already being deployed to %s; try again when it has finished.", a.App, a.Env)
	}
	return refuse("%s is already deploying to %s: #%d (%s), started by %s %s ago. Try again when it has finished, or `cancel deploy #%d`.",
		a.App, a.Env, a.ID, at(a.App, a.Ref), a.User, deploy.Ago(now.Sub(a.Created)), a.ID)
}

// activeOf returns the deployment under way for app and env, if any.
func (m *Module) activeOf(ctx context.Context, app, env string) (*deploy.Deployment, error) {
	ds, err := m.records.List(ctx, deploy.Filter{App: app, Env: env, Statuses: []string{deploy.StatusPending, deploy.StatusRunning}, Limit: 1})
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return &ds[0], nil
}

// permitted applies the permission rules to a deployment not asked for by
// a chat command (or asked for without an environment).
func (m *Module) permitted(ctx context.Context, r startReq, room chat.Room) error {
	rules, err := m.b.Rules(ctx)
	if err != nil {
		return fmt.Errorf("permission rules: %w", err)
	}
	perms := []string{"deploy:" + r.Env}
	if r.Forced {
		perms = append(perms, "deploy:force")
	}
	d := auth.Decide(rules, auth.Request{
		Principal: r.User, Command: "deploy", Permissions: perms, SideEffects: true, Room: room,
		Args: command.Args{"app": r.App, "env": r.Env, "ref": r.Ref},
	})
	if d.Allowed {
		return nil
	}
	if r.User.Guest {
		return refuse("Sorry, deploying changes things and %s is a guest here: link your chat account first.", r.User.Name)
	}
	return refuse("Sorry %s, deploying %s to %s needs the permission `%s`. An admin can grant it with `auth add %s to %s`.",
		r.User.Name, r.App, r.Env, d.Missing, d.Missing, r.User.Name)
}

// roomAllowed reports whether room is one of the allowed ones ("#ops",
// "ops", or "adapter:id").
func roomAllowed(allowed []string, room chat.Room) bool {
	for _, a := range allowed {
		switch {
		case a == room.Adapter+":"+room.ID, a == room.ID, a == room.Name,
			strings.TrimPrefix(a, "#") == strings.TrimPrefix(room.Name, "#") && room.Name != "",
			strings.TrimPrefix(a, "#") == room.ID:
			return true
		}
	}
	return false
}

func roomName(r chat.Room) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// resolveRoom reads a configured room: "adapter:ID" naming one of the
// bot's chats, else a room on the first chat.
func (m *Module) resolveRoom(name string) chat.Room {
	if name == "" {
		return chat.Room{}
	}
	if adapter, id, ok := strings.Cut(name, ":"); ok {
		if _, known := m.b.Sender().Adapter(adapter); known {
			return chat.Room{Adapter: adapter, ID: id, Name: id}
		}
	}
	ads := m.b.Sender().Adapters()
	if len(ads) == 0 {
		return chat.Room{ID: name, Name: name}
	}
	return chat.Room{Adapter: ads[0].Name(), ID: name, Name: name}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// history answers questions about an app's commits: git when it has a
// git_url, else GitHub when it has a token, else nil (refs are not checked).
type history interface {
	Resolve(ctx context.Context, ref string) (string, error)
	Compare(ctx context.Context, base, head string) (deploy.Comparison, error)
	IsAncestor(ctx context.Context, a, b string) (bool, error)
}

type gitHistory struct{ g *deploy.Git }

func (h gitHistory) Resolve(ctx context.Context, ref string) (string, error) {
	if err := h.g.Fetch(ctx); err != nil {
		return "", err
	}
	return h.g.Resolve(ctx, ref)
}

func (h gitHistory) Compare(ctx context.Context, base, head string) (deploy.Comparison, error) {
	return h.g.Compare(ctx, base, head)
}

func (h gitHistory) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	return h.g.IsAncestor(ctx, a, b)
}

type githubHistory struct {
	c    *deploy.GitHubClient
	repo string
}

func (h githubHistory) Resolve(ctx context.Context, ref string) (string, error) {
	return h.c.ResolveRef(ctx, h.repo, ref)
}

func (h githubHistory) Compare(ctx context.Context, base, head string) (deploy.Comparison, error) {
	return h.c.Compare(ctx, h.repo, base, head)
}

func (h githubHistory) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	c, err := h.c.Compare(ctx, h.repo, b, a)
	return len(c.Ahead) == 0, err
}

func (m *Module) history(a *deploy.App) (history, error) {
	if a.GitURL != "" {
		return gitHistory{g: m.git(a)}, nil
	}
	if gh := m.github(a); gh != nil {
		return githubHistory{c: gh, repo: a.Repository}, nil
	}
	return nil, nil
}

func (m *Module) git(a *deploy.App) *deploy.Git {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g, ok := m.gits[a.GitURL]; ok {
		return g
	}
	name := strings.NewReplacer("/", "_", ":", "_", "\\", "_").Replace(a.GitURL)
	g := deploy.NewGit(a.GitURL, filepath.Join(m.CacheDir, name+".git"))
	m.gits[a.GitURL] = g
	return g
}

// github is the app's GitHub client, nil without repository and token.
func (m *Module) github(a *deploy.App) *deploy.GitHubClient {
	if a.Repository == "" || a.GitHub.Token.Reveal() == "" {
		return nil
	}
	return deploy.NewGitHub(a.GitHub, m.HTTP)
}

// checkContexts refuses unless every required context is green on sha.
func (m *Module) checkContexts(ctx context.Context, a *deploy.App, app, ref, sha string) error {
	gh := m.github(a)
	target := sha
	if target == "" {
		target = ref
	}
	checks, err := gh.Checks(ctx, a.Repository, target)
	if err != nil {
		return fmt.Errorf("read the checks of %s: %w", at(app, ref), err)
	}
	var missing, pending, failed []string
	for _, name := range a.RequiredContexts {
		c, ok := checks[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case c.State == "success":
		case c.State == "pending":
			pending = append(pending, name)
		default:
			failed = append(failed, name)
		}
	}
	if len(missing)+len(pending)+len(failed) == 0 {
		return nil
	}
	var why []string
	if len(failed) > 0 {
		why = append(why, "failing: "+strings.Join(failed, ", "))
	}
	if len(pending) > 0 {
		why = append(why, "still pending: "+strings.Join(pending, ", "))
	}
	if len(missing) > 0 {
		why = append(why, "not reported: "+strings.Join(missing, ", "))
	}
	return refuse("%s (%s) is not green: %s. Fix them, or `deploy!` to skip the checks (needs `deploy:force`).",
		at(app, ref), deploy.ShortSHA(target), strings.Join(why, "; "))
}

// checkBehind refuses a ref behind the default branch, or merges the
// default branch into it when the app auto-merges; it returns the commit
// to deploy.
func (m *Module) checkBehind(ctx context.Context, a *deploy.App, hist history, r startReq, sha string) (string, error) {
	head, err := hist.Resolve(ctx, a.DefaultBranch)
	if errors.Is(err, deploy.ErrUnknownRef) {
		return sha, nil // no default branch to be behind
	}
	if err != nil {
		return sha, fmt.Errorf("resolve %s: %w", a.DefaultBranch, err)
	}
	cmp, err := hist.Compare(ctx, sha, head)
	if err != nil {
		return sha, fmt.Errorf("compare %s with %s: %w", r.Ref, a.DefaultBranch, err)
	}
	if len(cmp.Ahead) == 0 {
		return sha, nil
	}
	if !a.AutoMerge {
		return sha, refuse("%s is %s behind %s; merge %s into it first (or set auto_merge for %s).",
			at(r.App, r.Ref), deploy.Count(len(cmp.Ahead)), a.DefaultBranch, a.DefaultBranch, r.App)
	}
	gh := m.github(a)
	merged, err := gh.Merge(ctx, a.Repository, r.Ref, a.DefaultBranch, fmt.Sprintf("Merge %s into %s (opsbot auto-merge for %s's deployment)", a.DefaultBranch, r.Ref, r.User.Name))
	if errors.Is(err, deploy.ErrMergeConflict) {
		return sha, refuse("%s is %s behind %s and merging %s into it conflicts; merge it by hand.",
			at(r.App, r.Ref), deploy.Count(len(cmp.Ahead)), a.DefaultBranch, a.DefaultBranch)
	}
	if err != nil {
		return sha, fmt.Errorf("auto-merge %s into %s: %w", a.DefaultBranch, r.Ref, err)
	}
	if merged == "" {
		return sha, nil
	}
	m.log.Info("auto-merged the default branch", "app", r.App, "ref", r.Ref, "merge", merged)
	return merged, nil
}
