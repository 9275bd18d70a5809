package deploy_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/store"
)

func TestRequiredContextsAndForce(t *testing.T) {
	f := newFixture(t, fixtureOpt{github: true, extraApp: "    required_contexts: [ci/build, lint]\n"})
	head := f.Repo.Head()
	f.GH.SetStatus(head, "ci/build", "failure")
	f.GH.SetCheckRun(head, "lint", "completed", "success")
	refused := f.Say("alice", "ops", "deploy api to staging")
	require.Contains(t, refused, "api/main ("+head[:7]+") is not green: failing: ci/build")
	require.Contains(t, refused, "`deploy!` to skip the checks")
	f.GH.SetStatus(head, "ci/build", "pending")
	f.GH.SetCheckRun(head, "lint", "in_progress", "")
	require.Contains(t, f.Say("alice", "ops", "deploy api to staging"), "still pending: ci/build, lint")

	// deploy! needs deploy:force, is audited, and goes through.
	require.Contains(t, f.Say("alice", "ops", "deploy! api to staging"), "needs the permission `deploy:force`")
	f.Grant("deploy:force", "user:alice")
	f.Say("alice", "ops", "deploy! api to staging")
	id := idIn(t, f.post("alice is deploying api/main to staging").Post.Text)
	require.Contains(t, f.post("forced: required checks skipped").Post.Text, "(#"+strconv.FormatInt(id, 10)+")")
	d := f.waitStatus(id)
	require.Equal(t, deploy.StatusSuccess, d.Status)
	require.True(t, d.Forced)
	entries, err := f.Store.QueryAudit(context.Background(), store.AuditFilter{})
	require.NoError(t, err)
	var audited bool
	for _, e := range entries {
		if e.Text == "deploy! api to staging" && e.Decision == "allowed" && e.UserName == "alice" {
			audited = true
		}
	}
	require.True(t, audited, "the forced deployment is in the audit log")

	// Mirrored to GitHub with statuses queued → in_progress → success.
	ghd := f.GH.Deployments()
	require.Len(t, ghd, 1)
	require.Equal(t, "staging", ghd[0].Environment)
	require.Equal(t, head, ghd[0].SHA)
	require.Equal(t, d.GitHubID, ghd[0].ID)
	require.Equal(t, []string{"queued", "in_progress", "success"}, f.ghStates(d.GitHubID))
	require.Equal(t, "https://staging.example.com", f.GH.Deployments()[0].Statuses[2].EnvironmentURL)

	// Green: no force needed.
	f.GH.SetStatus(head, "ci/build", "success")
	f.GH.SetCheckRun(head, "lint", "completed", "neutral")
	f.Say("bob", "dev", "deploy api to staging")
	require.Equal(t, deploy.StatusSuccess, f.waitStatus(idIn(t, f.post("bob is deploying").Post.Text)).Status)
}

func TestAutoMergeMergesTheDefaultBranchFirst(t *testing.T) {
	f := newFixture(t, fixtureOpt{github: true, extraApp: "    auto_merge: true\n"})
	f.Repo.Checkout("feature-x", true)
	f.Repo.Commit(bob, "x.txt", "x\n", "feature x")
	f.Repo.Checkout("main", false)
	mainHead := f.Repo.Commit(carol, "m.txt", "m\n", "main moves on")
	f.Say("alice", "ops", "deploy api/feature-x to staging")
	id := idIn(t, f.post("alice is deploying api/feature-x to staging").Post.Text)
	d := f.waitStatus(id)
	require.Equal(t, deploy.StatusSuccess, d.Status)
	merged := f.Repo.SHA("feature-x")
	require.Equal(t, merged, d.SHA, "the merge commit is deployed")
	require.Equal(t, mainHead, f.Repo.Git("rev-parse", "feature-x^2"), "main was merged into feature-x through the merges API")

	// A conflicting merge is refused.
	f.Repo.Checkout("feature-y", true)
	f.Repo.Commit(bob, "m.txt", "bob's\n", "conflicting")
	f.Repo.Checkout("main", false)
	f.Repo.Commit(carol, "m.txt", "carol's\n", "conflicting too")
	require.Contains(t, f.Say("alice", "ops", "deploy api/feature-y to staging"), "merging main into it conflicts")
}

func TestDeploymentWebhookFromAnotherTool(t *testing.T) {
	f := newFixture(t, fixtureOpt{github: true, hooks: true})
	f.link("bob", "github", "bobgh")
	ext := f.GH.CreateExternal("main", "staging", "deploy", "bobgh")
	body := fixtureJSON(t, "deployment.created.json", map[string]any{
		"repository.full_name": "acme/api", "deployment.id": ext.ID, "deployment.ref": "main", "deployment.sha": ext.SHA,
		"deployment.environment": "staging", "deployment.creator.login": "bobgh", "sender.login": "bobgh",
	})
	require.Equal(t, http.StatusAccepted, f.deliver("deployment", body))
	start := f.post("bob is deploying api/main to staging")
	require.Contains(t, start.Post.Text, "from a GitHub deployment")
	require.Equal(t, "deploys", start.Room, "announced in the app's room")
	d := f.waitStatus(idIn(t, start.Post.Text))
	require.Equal(t, deploy.StatusSuccess, d.Status)
	require.Equal(t, "github", d.Source)
	require.Equal(t, ext.ID, d.GitHubID)
	gh := f.GH.Deployments()
	require.Len(t, gh, 1, "no second GitHub deployment: the statuses go to the existing one")
	require.Equal(t, []string{"in_progress", "success"}, f.ghStates(ext.ID))

	// One from a GitHub user opsbot does not know: error status, room told.
	ext2 := f.GH.CreateExternal("main", "production", "deploy", "mallory")
	body = fixtureJSON(t, "deployment.created.json", map[string]any{
		"repository.full_name": "acme/api", "deployment.id": ext2.ID, "deployment.environment": "production", "deployment.creator.login": "mallory",
	})
	require.Equal(t, http.StatusAccepted, f.deliver("deployment", body))
	require.Contains(t, f.post("not run: GitHub user mallory is not linked").Room, "prod")
	// bob is known but lacks deploy:production.
	ext3 := f.GH.CreateExternal("main", "production", "deploy", "bobgh")
	body = fixtureJSON(t, "deployment.created.json", map[string]any{
		"repository.full_name": "acme/api", "deployment.id": ext3.ID, "deployment.environment": "production", "deployment.creator.login": "bobgh",
	})
	require.Equal(t, http.StatusAccepted, f.deliver("deployment", body))
	f.post("needs the permission `deploy:production`")
	require.Equal(t, []string{"error"}, f.ghStates(ext2.ID))
	require.Equal(t, []string{"error"}, f.ghStates(ext3.ID))

	// opsbot's own deployments come back as webhooks too: ignored.
	f.Say("alice", "ops", "deploy api to qa")
	own := f.waitStatus(idIn(t, f.post("alice is deploying api/main to qa").Post.Text))
	body = fixtureJSON(t, "deployment.created.json", map[string]any{
		"repository.full_name": "acme/api", "deployment.id": own.GitHubID, "deployment.environment": "qa",
	})
	require.Equal(t, http.StatusAccepted, f.deliver("deployment", body))
	ds, err := deploy.NewRecords(f.Store.DB()).List(context.Background(), deploy.Filter{Env: "qa"})
	require.NoError(t, err)
	require.Len(t, ds, 1)
}

func TestAutoDeployWhenTheDefaultBranchTurnsGreen(t *testing.T) {
	f := newFixture(t, fixtureOpt{github: true, hooks: true, extraApp: "    required_contexts: [ci/build]\n"})
	require.Contains(t, f.Say("alice", "ops", "auto-deploy:status api"), "deployed automatically to qa", "QA by default")
	head := f.Repo.Head()
	f.GH.SetStatus(head, "ci/build", "success")
	body := fixtureJSON(t, "status.json", map[string]any{"repository.full_name": "acme/api", "sha": head, "state": "success", "context": "ci/build"})
	require.Equal(t, http.StatusAccepted, f.deliver("status", body))
	start := f.post("auto-deploy is deploying api/main to qa")
	require.Equal(t, deploy.StatusSuccess, f.waitStatus(idIn(t, start.Post.Text)).Status)

	// Switched off in chat: nothing happens; on for staging: it deploys there.
	f.Grant("deploy:auto:*", "group:ops")
	require.Contains(t, f.Say("alice", "ops", "auto-deploy:disable api in qa"), "is off")
	require.Contains(t, f.Say("alice", "ops", "auto-deploy:enable api in staging"), "is on")
	next := f.Repo.Commit(bob, "n.txt", "n\n", "next")
	f.GH.SetStatus(next, "ci/build", "success")
	body = fixtureJSON(t, "check_suite.completed.json", map[string]any{"repository.full_name": "acme/api", "check_suite.head_sha": next, "check_suite.head_branch": "main"})
	require.Equal(t, http.StatusAccepted, f.deliver("check_suite", body))
	d := f.waitStatus(idIn(t, f.post("auto-deploy is deploying api/main to staging").Post.Text))
	require.Equal(t, next, d.SHA)
	ds, err := deploy.NewRecords(f.Store.DB()).List(context.Background(), deploy.Filter{Env: "qa"})
	require.NoError(t, err)
	require.Len(t, ds, 1, "qa was switched off")
}
