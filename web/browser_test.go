package web_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/web"
)

// browserConfig defines a command that asks for confirmation.
const browserConfig = `commands:
  - name: restart
    grammar: restart {service}
    help: restart a service
    argv: ["/bin/echo", "restarting", "{service}"]
    confirm: always
    timeout: 10s
`

// server is opsbot as `opsbot serve` runs it, in-process on 127.0.0.1:0.
type server struct {
	url      string
	password string
	logs     *syncBuffer
}

func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "opsbot.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(browserConfig), 0o600))
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, app.Options{ConfigFile: cfg, DataDir: filepath.Join(dir, "data"), LogOutput: logs})
	require.NoError(t, err)
	password, err := web.Bootstrap(ctx, a.Store)
	require.NoError(t, err)
	require.NotEmpty(t, password, "an empty store gets an admin")
	var adapters []chat.Adapter
	for _, m := range a.Modules {
		if w, ok := m.(*web.Module); ok {
			adapters = append(adapters, w.Adapter())
		}
	}
	require.Len(t, adapters, 1, "the web module is built in")
	require.NoError(t, a.Build(ctx, adapters...))
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
	go func() { ran <- a.Bot.Run(ctx, adapters...) }()
	t.Cleanup(func() {
		cancel()
		<-served
		<-ran
		_ = a.Stop(context.Background())
		a.Close()
	})
	return &server{url: "http://" + l.Addr().String(), password: password, logs: logs}
}

// chromium finds Debian's chromium; under CI=true a missing browser fails the test.
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
	// Not t.TempDir: Chromium's helper processes may still write there while
	// the test's own cleanup removes it.
	profile, err := os.MkdirTemp("", "opsbot-chromium-")
	require.NoError(t, err)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1000, 760),
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

// screenshotDir is docs/screenshots with OPSBOT_SCREENSHOTS=1 (to refresh
// the docs), else a temporary directory.
func screenshotDir(t *testing.T) string {
	if os.Getenv("OPSBOT_SCREENSHOTS") == "1" {
		return filepath.Join("..", "docs", "screenshots")
	}
	return t.TempDir()
}

func TestBrowser(t *testing.T) {
	ctx := browser(t)
	s := startServer(t)
	shots := screenshotDir(t)
	// run runs actions with a deadline; on failure it shows what the page showed.
	run := func(t *testing.T, actions ...chromedp.Action) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Run(rctx, actions...); err != nil {
			var text string
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_ = chromedp.Run(dctx, chromedp.Text(`main`, &text, chromedp.ByQuery))
			t.Fatalf("%v\npage:\n%s\nserver logs:\n%s", err, text, s.logs.String())
		}
	}
	botSays := func(text string) chromedp.Action {
		return chromedp.WaitVisible(`//article[contains(@class,"bot")]//div[@class="text"][contains(., "`+text+`")]`, chromedp.BySearch)
	}
	send := func(text string) chromedp.Action {
		// Typed and sent with Enter, as a person does: the page's script posts it.
		return chromedp.Tasks{
			chromedp.SendKeys(`input[name="text"]`, text+kb.Enter, chromedp.ByQuery),
			chromedp.WaitVisible(`//article//div[@class="text"][.="`+text+`"]`, chromedp.BySearch),
		}
	}

	t.Run("a wrong password is refused", func(t *testing.T) {
		var msg string
		run(t,
			chromedp.Navigate(s.url+"/"),
			chromedp.WaitVisible(`input[name="password"]`, chromedp.ByQuery),
			chromedp.SendKeys(`input[name="user"]`, "admin", chromedp.ByQuery),
			chromedp.SendKeys(`input[name="password"]`, "not-the-password", chromedp.ByQuery),
			chromedp.Submit(`input[name="password"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`.error`, chromedp.ByQuery),
			chromedp.Text(`.error`, &msg, chromedp.ByQuery),
		)
		require.Contains(t, msg, "Wrong user name or password")
	})

	t.Run("log in and ask for help", func(t *testing.T) {
		var title string
		run(t,
			chromedp.Navigate(s.url+"/"),
			chromedp.WaitVisible(`input[name="password"]`, chromedp.ByQuery),
			chromedp.SendKeys(`input[name="user"]`, "admin", chromedp.ByQuery),
			chromedp.SendKeys(`input[name="password"]`, s.password, chromedp.ByQuery),
			chromedp.Submit(`input[name="password"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#messages`, chromedp.ByQuery),
			chromedp.Text(`h1`, &title, chromedp.ByQuery),
			chromedp.WaitVisible(`.chat.live`, chromedp.ByQuery), // the event stream is connected
			send("help"),
			botSays("Commands you may run"),
		)
		require.Equal(t, "#general", title)
	})

	t.Run("confirm with the button", func(t *testing.T) {
		var shot []byte
		run(t,
			send("restart api"),
			botSays("needs confirmation"),
			chromedp.Click(`//button[contains(@class,"action")][.="Confirm"]`, chromedp.BySearch),
			botSays("restarting api"),
			chromedp.CaptureScreenshot(&shot),
		)
		require.NoError(t, os.WriteFile(filepath.Join(shots, "chat.png"), shot, 0o644))
	})

	t.Run("the audit page shows it", func(t *testing.T) {
		var rows string
		var shot []byte
		run(t,
			chromedp.Navigate(s.url+"/audit"),
			chromedp.WaitVisible(`//td/code[.="restart api"]`, chromedp.BySearch),
			chromedp.Text(`table.audit tbody`, &rows, chromedp.ByQuery),
			chromedp.CaptureScreenshot(&shot),
		)
		require.Contains(t, rows, "admin")
		require.Contains(t, rows, "confirmed")
		require.NoError(t, os.WriteFile(filepath.Join(shots, "audit.png"), shot, 0o644))
	})

	t.Run("a POST without the CSRF token is refused", func(t *testing.T) {
		var status, withToken int
		run(t,
			chromedp.Navigate(s.url+"/rooms/general"),
			chromedp.WaitVisible(`#messages`, chromedp.ByQuery),
			chromedp.Evaluate(`fetch("/rooms/general/messages", {method: "POST", body: new URLSearchParams({text: "ping"})}).then(r => r.status)`,
				&status, awaitPromise),
			chromedp.Evaluate(`fetch("/rooms/general/messages", {method: "POST", body: new URLSearchParams({text: "whoami"}),
				headers: {"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}}).then(r => r.status)`,
				&withToken, awaitPromise),
			botSays("admin"),
		)
		require.Equal(t, http.StatusForbidden, status)
		require.Equal(t, http.StatusOK, withToken)
	})

	t.Run("readable on a phone", func(t *testing.T) {
		var shot []byte
		var overflow bool
		run(t,
			chromedp.EmulateViewport(390, 780, chromedp.EmulateMobile, chromedp.EmulateScale(1)),
			chromedp.Navigate(s.url+"/rooms/general"),
			chromedp.WaitVisible(`#messages`, chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow),
			chromedp.CaptureScreenshot(&shot),
		)
		require.False(t, overflow, "no sideways scrolling at phone width")
		require.NoError(t, os.WriteFile(filepath.Join(shots, "chat-phone.png"), shot, 0o644))
	})

	require.NotContains(t, s.logs.String(), s.password, "the one-time password is never logged")
	if bytes.Contains([]byte(s.logs.String()), []byte("level=ERROR")) {
		t.Logf("server logs:\n%s", strings.TrimSpace(s.logs.String()))
	}
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
