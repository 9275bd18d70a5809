package deploy_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/deploytest"
	deploymod "github.com/opsbot/opsbot/modules/deploy"
	hooksmod "github.com/opsbot/opsbot/modules/hooks"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/pgtest"
)

var (
	alice = deploytest.Author{Name: "Alice Liddell", Email: "alice@example.com"}
	bob   = deploytest.Author{Name: "Bob Builder", Email: "bob@example.com"}
	carol = deploytest.Author{Name: "Carol Danvers", Email: "carol@example.com"}
)

// deployScript is the app's deploy script: it prints what it deploys, and
// fails or waits when told to through files in its control directory.
const deployScript = `#!/bin/sh
echo "deploying $BRANCH ($SHA) to $DEPLOY_ENV task=$DEPLOY_TASK hosts=$DEPLOY_HOSTS by $DEPLOY_USER"
echo "secret is $API_KEY"
if [ -f "$CONTROL/hold" ]; then
  touch "$CONTROL/holding"
  while [ -f "$CONTROL/hold" ]; do sleep 0.02; done
fi
if [ -f "$CONTROL/fail" ]; then
  echo "migration 42 failed: table locked" >&2
  exit 3
fi
echo "done"
`

type fixture struct {
	*bottest.Bot
	Repo    *deploytest.Repo
	GH      *deploytest.GitHub
	Control string
	Mod     *deploymod.Module
}

type fixtureOpt struct {
	extraApp string // YAML lines added under apps.api
	github   bool
	hooks    bool // the webhook module too, with the GitHub secret hooksecret
	noGit    bool // no git_url: history questions go to the (fake) GitHub
	postgres bool // on a real PostgreSQL instead of SQLite
}

func newFixture(t *testing.T, o fixtureOpt) *fixture {
	t.Helper()
	repo := deploytest.NewRepo(t, alice)
	dir := t.TempDir()
	control := filepath.Join(dir, "control")
	require.NoError(t, os.Mkdir(control, 0o755))
	script := filepath.Join(dir, "deploy.sh")
	require.NoError(t, os.WriteFile(script, []byte(deployScript), 0o755))
	f := &fixture{Repo: repo, Control: control}
	gh := ""
	if o.github {
		f.GH = deploytest.NewGitHub(t, repo, "acme/api", "ghtoken-s3cret")
		gh = fmt.Sprintf("    repository: acme/api\n    github: {token: ghtoken-s3cret, api_url: %q}\n", f.GH.URL())
	}
	gitURL := fmt.Sprintf("    git_url: %q\n", repo.Dir)
	if o.noGit {
		gitURL = ""
	}
	yaml := fmt.Sprintf(`apps:
  api:
%s    provider: shell
    default_environment: staging
    room: deploys
%s    shell:
      command: [%q]
      env: {CONTROL: %q, API_KEY: "apikey-123456"}
      kill_grace: 1s
    environments:
      staging: {url: "https://staging.example.com", hosts: [web1, web2]}
      production: {url: "https://example.com", room: prod}
      qa: {}
%s`, gitURL, gh, script, control, o.extraApp)
	f.Mod = deploymod.New()
	f.Mod.CacheDir = t.TempDir()
	mods := []bot.Module{f.Mod}
	if o.hooks {
		mods = append([]bot.Module{hooksmod.New()}, mods...)
		yaml += "hooks:\n  github: {secret: hooksecret}\n"
	}
	bopts := []bottest.Option{bottest.Modules(mods...), bottest.Config(yaml)}
	if o.postgres {
		bopts = append(bopts, bottest.Database(pgtest.Start(t)))
	}
	f.Bot = bottest.New(t, bopts...)
	f.User("alice", "ops")
	f.User("bob", "devs")
	f.Grant("deploy:staging", "group:ops")
	f.Grant("deploy:qa", "group:ops")
	f.Grant("deploy:staging", "group:devs")
	return f
}

func (f *fixture) set(name string, on bool) {
	p := filepath.Join(f.Control, name)
	if on {
		require.NoError(f.T, os.WriteFile(p, nil, 0o644))
	} else {
		require.NoError(f.T, os.Remove(p))
	}
}

// waitFile waits (in real time, bounded) for the script to create a file.
func (f *fixture) waitFile(name string) {
	f.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(f.Control, name)); err == nil {
			return
		}
		if time.Now().After(deadline) {
			f.T.Fatalf("the deploy script never created %s; posts:\n%s", name, bottest.Texts(f.Chat.All()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deployment returns record id.
func (f *fixture) deployment(id int64) deploy.Deployment {
	f.T.Helper()
	d, err := deploy.NewRecords(f.Store.DB()).Get(context.Background(), id)
	require.NoError(f.T, err)
	return d
}

// waitStatus waits until deployment id is final and returns it.
func (f *fixture) waitStatus(id int64) deploy.Deployment {
	f.T.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d := f.deployment(id)
		if deploy.Final(d.Status) {
			return d
		}
		if time.Now().After(deadline) {
			f.T.Fatalf("deployment #%d still %s; posts:\n%s", id, d.Status, bottest.Texts(f.Chat.All()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// post finds the first post containing substr.
func (f *fixture) post(substr string) bottest.Posted {
	f.T.Helper()
	return f.WaitFor(roomOf(f, substr), substr)
}

func roomOf(f *fixture, substr string) string {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range f.Chat.All() {
			if strings.Contains(p.Post.Text, substr) {
				return p.Room
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.T.Fatalf("no post containing %q; posts:\n%s", substr, bottest.Texts(f.Chat.All()))
	return ""
}

// reply sends text as user in the thread of post p.
func (f *fixture) reply(user string, p bottest.Posted, text string) string {
	m := f.Message(user, p.Room, text)
	m.Direct = false
	m.Thread = chat.Ref{Room: p.Ref.Room, ID: p.Ref.ID, Thread: p.Thread}
	if p.Thread != "" {
		m.Thread.ID = p.Thread
	}
	return bottest.Texts(f.Send(m))
}

func (f *fixture) link(user, adapter, id string) {
	f.T.Helper()
	u, err := f.Store.UserByName(context.Background(), user)
	require.NoError(f.T, err)
	require.NoError(f.T, f.Store.LinkIdentity(context.Background(), store.Identity{UserID: u.ID, Adapter: adapter, ChatID: id, Name: id}))
}

// deliver sends a signed GitHub webhook delivery through the hooks
// module's route, as GitHub would, and returns the HTTP status.
func (f *fixture) deliver(kind string, body []byte) int {
	f.T.Helper()
	mux := http.NewServeMux()
	for _, r := range f.Bot.Bot.Routes() {
		if r.Module == "hooks" {
			mux.Handle(r.Pattern, r.Handler)
		}
	}
	mac := hmac.New(sha256.New, []byte("hooksecret"))
	mac.Write(body)
	req := httptest.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", kind)
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("delivery-%d", time.Now().UnixNano()))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Code
}

// fixtureJSON reads testdata/name and applies edits (dotted paths).
func fixtureJSON(t *testing.T, name string, edits map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	for path, v := range edits {
		keys := strings.Split(path, ".")
		cur := doc
		for _, k := range keys[:len(keys)-1] {
			cur = cur[k].(map[string]any)
		}
		cur[keys[len(keys)-1]] = v
	}
	out, err := json.Marshal(doc)
	require.NoError(t, err)
	return out
}

// after waits for a post containing substr among those after index before.
func (f *fixture) after(before int, substr string) bottest.Posted {
	f.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, p := range f.Chat.All()[before:] {
			if strings.Contains(p.Post.Text, substr) {
				return p
			}
		}
		if time.Now().After(deadline) {
			f.T.Fatalf("no new post containing %q; posts:\n%s", substr, bottest.Texts(f.Chat.All()[before:]))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ghStates waits until GitHub deployment id has a final status and returns
// its states in order.
func (f *fixture) ghStates(id int64) []string {
	f.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, d := range f.GH.Deployments() {
			if d.ID != id || len(d.Statuses) == 0 {
				continue
			}
			switch d.Statuses[len(d.Statuses)-1].State {
			case "success", "failure", "error":
				var out []string
				for _, s := range d.Statuses {
					out = append(out, s.State)
				}
				return out
			}
		}
		if time.Now().After(deadline) {
			f.T.Fatalf("GitHub deployment %d has no final status: %+v", id, f.GH.Deployments())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// edited waits for an edit containing substr: the announcement updated
// with the result, the last thing a deployment posts.
func (f *fixture) edited(substr string) bottest.Posted {
	f.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, p := range f.Chat.All() {
			if p.Edited && strings.Contains(p.Post.Text, substr) {
				return p
			}
		}
		if time.Now().After(deadline) {
			f.T.Fatalf("no edit containing %q; posts:\n%s", substr, bottest.Texts(f.Chat.All()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
