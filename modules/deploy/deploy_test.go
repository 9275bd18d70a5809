package deploy_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/deploytest"
	"github.com/opsbot/opsbot/event"
	deploymod "github.com/opsbot/opsbot/modules/deploy"
	"github.com/opsbot/opsbot/store"
)

var idRE = regexp.MustCompile(`\(#(\d+)\)`)

func idIn(t *testing.T, s string) int64 {
	t.Helper()
	m := idRE.FindStringSubmatch(s)
	require.NotNil(t, m, "no deployment number in %q", s)
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func TestDeployRunsTheShellProviderAndReports(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	head := f.Repo.Head()
	require.Empty(t, f.Say("alice", "ops", "deploy api to staging"), "the job announces the deployment itself")
	start := f.post("alice is deploying api/main to staging (#")
	id := idIn(t, start.Post.Text)
	d := f.waitStatus(id)
	require.Equal(t, deploy.StatusSuccess, d.Status)
	require.Equal(t, head, d.SHA)
	require.Equal(t, "chat", d.Source)

	done := f.post("succeeded in")
	require.Equal(t, start.Ref.ID, done.Thread, "the result goes in the deployment's thread")
	require.Contains(t, done.Post.Text, "alice's deployment of api/main ("+head[:7]+") to staging succeeded")
	require.Contains(t, done.Post.Text, "https://staging.example.com")
	// The announcement is edited to show the result.
	f.edited("succeeded")

	log, err := f.Store.JobLog(context.Background(), d.JobID)
	require.NoError(t, err)
	require.Contains(t, string(log), "deploying main ("+head+") to staging task=deploy hosts= by alice")
	require.NotContains(t, string(log), "apikey-123456", "secrets are masked in the log")
	require.Contains(t, string(log), "done")

	// deploy.started and deploy.succeeded are in the event log.
	f.edited("succeeded")
	evs, err := f.Bot.Bot.Ingester().(event.LogReader).Log().Query(context.Background(), event.Filter{TagPattern: "deploy.*"})
	require.NoError(t, err)
	var tags []string
	for _, e := range evs {
		require.Equal(t, "api", e.Labels["app"])
		require.Equal(t, strconv.FormatInt(id, 10), e.Labels["deployment"])
		tags = append(tags, e.Tag)
	}
	require.ElementsMatch(t, []string{"deploy.started", "deploy.succeeded"}, tags)

	// History, where, and a task with hosts.
	require.Contains(t, f.Say("alice", "ops", "deploys api"), "#"+strconv.FormatInt(id, 10)+" api/main ("+head[:7]+") to staging by alice")
	require.Contains(t, f.Say("alice", "ops", "where can i deploy api"), "staging (default) — hosts web1, web2")
	f.Say("alice", "ops", "deploy:migrate api to stg/web1")
	id2 := idIn(t, f.post("alice is deploying api/main to staging/web1").Post.Text)
	require.Equal(t, deploy.StatusSuccess, f.waitStatus(id2).Status)
	log2, _ := f.Store.JobLog(context.Background(), f.deployment(id2).JobID)
	require.Contains(t, string(log2), "task=migrate hosts=web1")
	require.Contains(t, f.Say("alice", "ops", "deploy api to staging/db9"), "api in staging has no host db9")
}

func TestRefusalsSayWhy(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	// Permission: production is separate.
	require.Contains(t, f.Say("bob", "dev", "deploy api to production"), "needs the permission `deploy:production`")
	require.Contains(t, f.Say("bob", "dev", "deploy api to prod"), "needs the permission `deploy:production`")
	// With no env, the app's default environment's permission applies.
	f.User("carol")
	f.Grant("deploy:production", "user:carol")
	require.Contains(t, f.Say("carol", "dev", "deploy api"), "needs the permission `deploy:staging`")

	// A lock refuses with who and why.
	f.Grant("deploy:lock:*", "group:ops")
	require.Contains(t, f.Say("alice", "ops", "deploy:lock api in staging for 1h db migration running"), "locked api in staging")
	refused := f.Say("bob", "dev", "deploy api to staging")
	require.Contains(t, refused, "api in staging is locked by alice 0s ago: db migration running")
	require.Contains(t, f.Say("bob", "dev", "deploy:locks"), "api in staging: locked by alice")
	require.Contains(t, f.Say("alice", "ops", "deploy:unlock api in staging"), "unlocked api in staging")

	// An unknown ref.
	require.Contains(t, f.Say("alice", "ops", "deploy api/nope to staging"), `api has no branch, tag or commit "nope"`)

	// One at a time per app and environment.
	f.set("hold", true)
	f.Say("alice", "ops", "deploy api to staging")
	first := idIn(t, f.post("alice is deploying api/main to staging").Post.Text)
	f.waitFile("holding")
	busy := f.Say("bob", "dev", "deploy api to staging")
	require.Contains(t, busy, "api is already deploying to staging: #"+strconv.FormatInt(first, 10)+" (api/main), started by alice")
	// Another environment is free.
	f.Say("alice", "ops", "deploy api to qa")
	qa := idIn(t, f.post("alice is deploying api/main to qa").Post.Text)
	f.set("hold", false)
	require.Equal(t, deploy.StatusSuccess, f.waitStatus(first).Status)
	require.Equal(t, deploy.StatusSuccess, f.waitStatus(qa).Status)
	// The slot is free again.
	f.Say("bob", "dev", "deploy api to staging")
	require.Equal(t, deploy.StatusSuccess, f.waitStatus(idIn(t, f.post("bob is deploying api/main to staging").Post.Text)).Status)
}

func TestBehindTheDefaultBranchIsRefused(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	f.Repo.Checkout("feature-x", true)
	f.Repo.Commit(bob, "x.txt", "x\n", "feature x")
	f.Repo.Checkout("main", false)
	f.Repo.Commit(carol, "m.txt", "m\n", "main moves on")
	f.Repo.Commit(carol, "m2.txt", "m\n", "main moves on again")
	require.Contains(t, f.Say("alice", "ops", "deploy api/feature-x to staging"), "api/feature-x is 2 commits behind main; merge main into it first")
}

func TestFailureRetryAndRollback(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) { testFailureRetryAndRollback(t, pg) })
	}
}

func testFailureRetryAndRollback(t *testing.T, postgres bool) {
	f := newFixture(t, fixtureOpt{postgres: postgres})
	first := f.Repo.Head()
	f.Say("alice", "ops", "deploy api to staging")
	id1 := idIn(t, f.post("alice is deploying api/main to staging").Post.Text)
	require.Equal(t, deploy.StatusSuccess, f.waitStatus(id1).Status)

	second := f.Repo.Commit(bob, "b.txt", "b\n", "second")
	f.set("fail", true)
	f.Say("alice", "ops", "deploy api to staging")
	id2 := idIn(t, f.post("(#"+strconv.FormatInt(id1+1, 10)+")").Post.Text)
	d2 := f.waitStatus(id2)
	require.Equal(t, deploy.StatusFailure, d2.Status)
	failed := f.post("to staging failed after")
	require.Contains(t, failed.Post.Text, "deploy.sh exited with status 3")
	require.Contains(t, failed.Post.Text, "migration 42 failed: table locked", "the last lines of the log")
	require.Contains(t, failed.Post.Text, "Reply `retry` in this thread")
	require.NotContains(t, failed.Post.Text, "apikey-123456")

	// retry in the thread, by someone without the permission: refused.
	f.User("dave")
	require.Contains(t, f.reply("dave", failed, "retry"), "needs the permission")
	f.set("fail", false)
	f.reply("bob", failed, "retry")
	id3 := idIn(t, f.post("bob is deploying api/main to staging").Post.Text)
	d3 := f.waitStatus(id3)
	require.Equal(t, deploy.StatusSuccess, d3.Status)
	require.Equal(t, second, d3.SHA)
	require.Equal(t, "retry", d3.Source)
	require.Contains(t, f.reply("bob", f.post("succeeded in"), "retry"), "did not fail")

	// rollback goes to the last successful commit before the current one.
	f.Say("alice", "ops", "rollback api in staging")
	id4 := idIn(t, f.post("alice is rolling back api in staging to "+first[:7]).Post.Text)
	d4 := f.waitStatus(id4)
	require.Equal(t, deploy.StatusSuccess, d4.Status)
	require.Equal(t, first, d4.SHA)
	require.Contains(t, f.Say("alice", "ops", "rollback api in qa"), "never been deployed to qa")
}

func TestCancel(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	f.Grant("deploy:cancel", "group:ops")
	f.set("hold", true)
	f.Say("alice", "ops", "deploy api to staging")
	id := idIn(t, f.post("alice is deploying api/main to staging").Post.Text)
	f.waitFile("holding")
	require.Contains(t, f.Say("alice", "ops", "cancel deploy #"+strconv.FormatInt(id, 10)), "stopping deployment")
	d := f.waitStatus(id)
	require.Equal(t, deploy.StatusCancelled, d.Status)
	require.Contains(t, f.post("was cancelled by alice").Post.Text, "(#"+strconv.FormatInt(id, 10)+")")
	require.Contains(t, f.Say("alice", "ops", "cancel deploy "+strconv.FormatInt(id, 10)), "already finished (cancelled)")
}

func TestStopDuringADeploymentMarksItInterrupted(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	f.set("hold", true)
	f.Say("alice", "ops", "deploy api to staging")
	id := idIn(t, f.post("alice is deploying api/main to staging").Post.Text)
	f.waitFile("holding")
	require.NoError(t, f.App.Stop(context.Background()))
	d := f.deployment(id)
	require.Equal(t, deploy.StatusInterrupted, d.Status)
	require.Contains(t, f.post("was interrupted").Post.Text, "deployment #"+strconv.FormatInt(id, 10))
	active, err := deploy.NewRecords(f.Store.DB()).Active(context.Background())
	require.NoError(t, err)
	require.Empty(t, active, "the slot is free")
	var _ store.Store = f.Store
	_ = bottest.Texts
}

func TestEnvLessDeployWithDifferentDefaults(t *testing.T) {
	repo := deploytest.NewRepo(t, alice)
	m := deploymod.New()
	m.CacheDir = t.TempDir()
	tb := bottest.New(t, bottest.Modules(m), bottest.Config(`apps:
  api:
    git_url: `+repo.Dir+`
    default_environment: staging
    shell: {command: ["true"]}
    environments: {staging: {}, production: {}}
  www:
    git_url: `+repo.Dir+`
    shell: {command: ["true"]}
    environments: {production: {}}
`))
	tb.User("carol")
	tb.Grant("deploy", "user:carol")
	tb.Grant("deploy:production", "user:carol")
	require.Contains(t, tb.Say("carol", "dev", "deploy api"), "deploying api to staging needs the permission `deploy:staging`")
	tb.Say("carol", "dev", "deploy www")
	tb.WaitFor("dev", "carol's deployment of www/main")
}

func TestProgressIsPostedInTheThread(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	f.set("hold", true)
	f.Say("alice", "ops", "deploy api to staging")
	start := f.post("alice is deploying api/main to staging")
	f.waitFile("holding")
	// The bot's clock moves on: new output goes into the thread, every 5 s
	// of it (a few steps, well inside the job lease's 30 s).
	var progress *bottest.Posted
	for step := 0; step < 3 && progress == nil; step++ {
		f.Clock.Advance(6 * time.Second)
		deadline := time.Now().Add(2 * time.Second)
		for progress == nil && time.Now().Before(deadline) {
			for _, p := range f.Chat.All() {
				if p.Thread == start.Ref.ID && strings.Contains(p.Post.Text, "deploying main (") {
					progress = &p
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	require.NotNil(t, progress, "no progress post; posts:\n%s", bottest.Texts(f.Chat.All()))
	require.Contains(t, progress.Post.Text, "secret is [redacted]")
	// The announcement shows the current state (the test chat edits posts).
	var state *bottest.Posted
	deadline := time.Now().Add(2 * time.Second)
	for state == nil && time.Now().Before(deadline) {
		for _, p := range f.Chat.All() {
			if p.Edited && strings.Contains(p.Post.Text, "alice is deploying api/main to staging") && strings.Contains(p.Post.Text, "— running for ") {
				state = &p
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NotNil(t, state, "the announcement is not edited while running; posts:\n%s", bottest.Texts(f.Chat.All()))
	require.NotContains(t, state.Post.Text, "apikey-123456")
	f.set("hold", false)
	require.Equal(t, deploy.StatusSuccess, f.waitStatus(idIn(t, start.Post.Text)).Status)
}
