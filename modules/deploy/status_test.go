package deploy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/deploytest"
	deploymod "github.com/opsbot/opsbot/modules/deploy"
	schedulesmod "github.com/opsbot/opsbot/modules/schedules"
)

// deployed deploys app to env as alice and waits for success.
func (f *fixture) deployed(text string) deploy.Deployment {
	f.T.Helper()
	before := len(f.Chat.All())
	f.Say("alice", "ops", text)
	var id int64
	deadline := time.Now().Add(10 * time.Second)
	for id == 0 {
		for _, p := range f.Chat.All()[before:] {
			if strings.Contains(p.Post.Text, "is deploying") {
				id = idIn(f.T.(*testing.T), p.Post.Text)
			}
		}
		if id == 0 && time.Now().After(deadline) {
			f.T.Fatalf("%q did not start; posts:\n%s", text, bottest.Texts(f.Chat.All()[before:]))
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := f.waitStatus(id)
	require.Equal(f.T, deploy.StatusSuccess, d.Status, bottest.Texts(f.Chat.All()[before:]))
	return d
}

func TestDeployStatusAgainstARealRepository(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	f.Grant("deploy:production", "group:ops")
	base := f.Repo.Head()
	f.deployed("deploy api to production")
	f.deployed("deploy api to staging")
	require.Contains(t, f.Say("bob", "dev", "deploy-status for api in production"), "api in production: up to date with main")
	require.Contains(t, f.Say("bob", "dev", "deploy-status for api in qa"), "api in qa: never deployed.")

	// main moves on by bob and carol: production is behind.
	c1 := f.Repo.Commit(bob, "a.txt", "a\n", "add a")
	c2 := f.Repo.Commit(carol, "b.txt", "b\n", "add b")
	st := f.Say("bob", "dev", "deploy-status for api in production")
	require.Contains(t, st, "api in production: 2 commits behind main ("+c2[:7]+") — deployed main ("+base[:7]+", #1")
	require.Contains(t, st, "• "+c2[:7]+" add b — Carol Danvers\n• "+c1[:7]+" add a — Bob Builder")

	// A branch ahead of main deployed to staging: ahead.
	f.Repo.Checkout("feature-x", true)
	fx := f.Repo.Commit(alice, "x.txt", "x\n", "feature x")
	f.Repo.Checkout("main", false)
	f.deployed("deploy api/feature-x to staging")
	st = f.Say("bob", "dev", "deploy-status for api in staging")
	require.Contains(t, st, "api in staging: 1 commit ahead of main")
	require.Contains(t, st, "• "+fx[:7]+" feature x — Alice Liddell")

	// main moves on again: diverged.
	c3 := f.Repo.Commit(carol, "c.txt", "c\n", "add c")
	st = f.Say("bob", "dev", "deploy-status for api in staging")
	require.Contains(t, st, "api in staging: diverged from main ("+c3[:7]+"): 1 commit ahead, 1 commit behind")
	require.Contains(t, st, "not deployed:\n• "+c3[:7]+" add c — Carol Danvers")
	require.Contains(t, st, "deployed, not on main:\n• "+fx[:7]+" feature x — Alice Liddell")

	// All environments at once.
	all := f.Say("bob", "dev", "deploy-status")
	require.Contains(t, all, "api in production: 3 commits behind")
	require.Contains(t, all, "api in qa: never deployed.")
}

func TestDriftNagMentionsAuthorsAndOKDeploys(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	f.Grant("deploy:production", "group:ops")
	f.deployed("deploy api to production")
	f.User("carol")
	f.link("bob", "git", bob.Email)
	f.link("carol", "github", "carolgh") // no git identity: not mentioned by email
	f.Repo.Commit(bob, "a.txt", "a\n", "add a")
	head := f.Repo.Commit(carol, "b.txt", "b\n", "add b")

	require.NoError(t, f.Mod.Nag(context.Background(), "api", "staging"), "never deployed: nothing to say")
	require.NoError(t, f.Mod.Nag(context.Background(), "api", "production"))
	nag := f.post("Reply `ok deploy` in this thread")
	require.Equal(t, "prod", nag.Room, "the environment's room")
	require.Contains(t, nag.Post.Text, "api in production: 2 commits behind main")
	require.Contains(t, nag.Post.Text, "add a — @bob")
	require.Contains(t, nag.Post.Text, "add b — Carol Danvers")
	require.Equal(t, []string{"bob"}, nag.Post.Mentions)

	// ok deploy in the thread, as a user without the permission: refused.
	require.Contains(t, f.reply("bob", nag, "ok deploy"), "needs the permission `deploy:production`")
	before := len(f.Chat.All())
	f.reply("alice", nag, "ok deploy")
	d := f.waitStatus(idIn(t, f.after(before, "alice is deploying api/main to production").Post.Text))
	require.Equal(t, deploy.StatusSuccess, d.Status)
	require.Equal(t, head, d.SHA)
	require.Equal(t, "nag", d.Source)

	// Up to date now: no nag.
	f.edited("(#2)")
	before = len(f.Chat.All())
	require.NoError(t, f.Mod.Nag(context.Background(), "api", "production"))
	require.Len(t, f.Chat.All(), before)
}

// fakeSchedules implements the schedules module's contract.
type fakeSchedules struct {
	mu   sync.Mutex
	runs map[string]func(ctx context.Context, at time.Time) error
	when map[string]string
}

func (*fakeSchedules) Name() string                { return "schedules" }
func (*fakeSchedules) Provision(h *bot.Host) error { return nil }
func (s *fakeSchedules) ScheduleFunc(name, when string, loc *time.Location, run func(ctx context.Context, at time.Time) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[name], s.when[name] = run, when
	return nil
}

func TestDriftChecksAreScheduledPerEnvironment(t *testing.T) {
	repo := deploytest.NewRepo(t, alice)
	sched := &fakeSchedules{runs: map[string]func(context.Context, time.Time) error{}, when: map[string]string{}}
	m := deploymod.New()
	m.CacheDir = t.TempDir()
	tb := bottest.New(t, bottest.Modules(sched, m), bottest.Config(`apps:
  api:
    git_url: `+repo.Dir+`
    drift_check: every weekday at 9:30
    room: deploys
    shell: {command: ["true"]}
    environments: {production: {}, staging: {}}
`))
	_ = tb
	sched.mu.Lock()
	defer sched.mu.Unlock()
	require.Len(t, sched.runs, 2)
	require.Equal(t, "every weekday at 9:30", sched.when["deploy.drift/api/production"])
	require.Contains(t, sched.runs, "deploy.drift/api/staging")
	require.NoError(t, sched.runs["deploy.drift/api/staging"](context.Background(), time.Now()), "never deployed: no nag, no error")
}

func TestDeployStatusAndNagThroughGitHub(t *testing.T) {
	f := newFixture(t, fixtureOpt{github: true, noGit: true})
	f.Grant("deploy:production", "group:ops")
	base := f.Repo.Head()
	f.deployed("deploy api to production")
	f.User("carol")
	f.link("carol", "github", "carol") // the fake's login is the email's local part
	c1 := f.Repo.Commit(bob, "a.txt", "a\n", "add a")
	c2 := f.Repo.Commit(carol, "b.txt", "b\n", "add b\n\nwith a body")
	st := f.Say("bob", "dev", "deploy-status for api in production")
	require.Contains(t, st, "api in production: 2 commits behind main ("+c2[:7]+") — deployed main ("+base[:7])
	require.Contains(t, st, "• "+c2[:7]+" add b — Carol Danvers\n• "+c1[:7]+" add a — Bob Builder")

	require.NoError(t, f.Mod.Nag(context.Background(), "api", "production"))
	nag := f.post("Reply `ok deploy`")
	require.Contains(t, nag.Post.Text, "add b — @carol")
	require.Contains(t, nag.Post.Text, "add a — Bob Builder")
	require.Equal(t, []string{"carol"}, nag.Post.Mentions)
}

func TestDriftChecksAppearInTheRealSchedulesModule(t *testing.T) {
	repo := deploytest.NewRepo(t, alice)
	m := deploymod.New()
	m.CacheDir = t.TempDir()
	tb := bottest.New(t, bottest.Modules(schedulesmod.New(), m), bottest.Config(`apps:
  api:
    git_url: `+repo.Dir+`
    drift_check: every weekday at 9:30
    room: deploys
    shell: {command: ["true"]}
    environments: {production: {}}
`))
	tb.User("alice", "admins")
	require.Contains(t, tb.Say("alice", "ops", "schedules"), "deploy.drift/api/production")
}
