package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/chat/shell"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/modules/status"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shellSession is opsbot with the shell adapter (as `opsbot shell` runs
// it) and its HTTP listener (as `opsbot serve` serves routes).
type shellSession struct {
	in   *io.PipeWriter
	out  *syncBuffer
	logs *syncBuffer
	url  string
}

func startShell(t *testing.T, yaml string) *shellSession {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "opsbot.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(yaml), 0o600))
	s := &shellSession{out: &syncBuffer{}, logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, app.Options{ConfigFile: cfg, DataDir: filepath.Join(dir, "data"), LogOutput: s.logs,
		Modules: append(app.CoreModules(), status.New())})
	require.NoError(t, err)
	pr, pw := io.Pipe()
	s.in = pw
	sh := shell.New(shell.Options{In: pr, Out: s.out, User: "alice", Room: "ops"})
	require.NoError(t, a.Build(ctx, sh))
	srv := httpapi.New(a.Log, a.Registry)
	for _, r := range a.Bot.Routes() {
		if r.Scope != "" {
			srv.HandleAPI(r.Pattern, r.Scope, r.Handler)
		} else {
			srv.Handle(r.Pattern, r.Handler)
		}
	}
	l, err := srv.Listen("127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	require.NoError(t, a.Start(ctx))
	srv.SetReady(a.Store)
	ran := make(chan error, 1)
	go func() { ran <- a.Bot.Run(ctx, sh) }()
	t.Cleanup(func() {
		_ = pw.Close()
		cancel()
		<-served
		<-ran
		_ = a.Stop(context.Background())
		a.Close()
	})
	s.url = "http://" + l.Addr().String()
	return s
}

// say types a line and waits until the shell printed want.
func (s *shellSession) say(t *testing.T, line, want string) {
	t.Helper()
	before := len(s.out.String())
	_, err := io.WriteString(s.in, line+"\n")
	require.NoError(t, err)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.out.String()[before:], want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the shell did not print %q after %q:\n%s\nlogs:\n%s", want, line, s.out.String()[before:], s.logs.String())
}

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (scripts/test-deps.sh installs it)")
	}
	t.Skip("chromium is not installed; install the Debian package chromium to run the browser tests")
	return ""
}

func browser(t *testing.T) context.Context {
	t.Helper()
	exe := chromium(t)
	profile, err := os.MkdirTemp("", "opsbot-chromium-")
	require.NoError(t, err)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		// The page must work without script.
		chromedp.Flag("blink-settings", "scriptEnabled=false"),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1000, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	require.NoError(t, chromedp.Run(ctx), "start chromium")
	return ctx
}

const shellConfig = `users:
  - name: alice
    groups: [ops]
    identities: [shell:alice]
rules:
  - permission: status
    groups: [ops]
statuspage:
  title: Example Status
  components:
    - {name: API, group: Core}
    - {name: Build Processing, group: Core, aliases: [builds]}
    - {name: Website}
`

// From the shell: a component change and an incident's three updates show
// on the public page in a real browser (with script disabled) and in
// /status.json.
func TestShellChangesShowOnThePublicPage(t *testing.T) {
	ctx := browser(t)
	s := startShell(t, shellConfig)
	run := func(actions ...chromedp.Action) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Run(rctx, actions...); err != nil {
			var body string
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_ = chromedp.Run(dctx, chromedp.Text(`body`, &body, chromedp.ByQuery))
			t.Fatalf("%v\npage:\n%s", err, body)
		}
	}

	var overall, state string
	run(chromedp.Navigate(s.url+"/status"),
		chromedp.Text(`#overall`, &overall, chromedp.ByQuery),
		chromedp.Text(`li[data-component="Build Processing"] .state`, &state, chromedp.ByQuery))
	require.Equal(t, "All Systems Operational", overall)
	require.Equal(t, "operational", state)

	s.say(t, "status Build Processing degraded", "Build Processing: operational → **degraded performance**")
	// The page is cacheable (max-age): a reload revalidates it by its ETag.
	run(chromedp.Reload(),
		chromedp.Text(`#overall`, &overall, chromedp.ByQuery),
		chromedp.Text(`li[data-component="Build Processing"] .state`, &state, chromedp.ByQuery))
	require.Equal(t, "Degraded Performance", overall)
	require.Equal(t, "degraded performance", state)

	s.say(t, "status open investigating Builds delayed: we are looking into it", "Incident #1 opened")
	s.say(t, "status update monitoring Fix deployed", "monitoring: Fix deployed")
	s.say(t, "status resolve", "resolved: This incident has been resolved.")

	var updates []string
	var title string
	run(chromedp.Reload(),
		chromedp.Text(`#history #incident-1 h3`, &title, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#history #incident-1 li.update')].map(li => li.dataset.status + ": " + li.querySelector('.body').textContent)`, &updates))
	require.Equal(t, "Builds delayed", title)
	if os.Getenv("OPSBOT_SCREENSHOTS") == "1" { // refresh the docs' picture
		var png []byte
		run(chromedp.FullScreenshot(&png, 100))
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", "status-page.png"), png, 0o644))
	}
	require.Equal(t, []string{"resolved: This incident has been resolved.", "monitoring: Fix deployed", "investigating: we are looking into it"}, updates)

	resp, err := http.Get(s.url + "/status.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Cache-Control"), "public")
	var doc struct {
		Components []struct{ Name, Status string }
		Incidents  []struct {
			Name    string
			Status  string
			Updates []struct{ Status, Body string } `json:"incident_updates"`
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	require.Equal(t, "degraded_performance", doc.Components[1].Status)
	require.Len(t, doc.Incidents, 1)
	require.Equal(t, "resolved", doc.Incidents[0].Status)
	require.Len(t, doc.Incidents[0].Updates, 3)
	require.Equal(t, "we are looking into it", doc.Incidents[0].Updates[2].Body)
}
