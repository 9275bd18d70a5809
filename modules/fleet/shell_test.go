package fleet_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/chat/shell"
	"github.com/opsbot/opsbot/fleet/fleettest"
)

// syncBuffer is an io.Writer safe for the shell's writes and the test's reads.
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

// runShell runs `opsbot shell --user alice` in-process on the built-in
// modules with the platform's config, feeds it script and returns what it
// printed once every line was handled.
func runShell(t *testing.T, p *platform, script string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "opsbot.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(p.yaml), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.Open(ctx, app.Options{ConfigFile: cfg, DataDir: filepath.Join(dir, "data"), LogOutput: &syncBuffer{}})
	require.NoError(t, err)
	defer a.Close()
	out := &syncBuffer{}
	sh := shell.New(shell.Options{In: strings.NewReader(script), Out: out, User: "alice", Room: "ops", BotName: "opsbot"})
	require.NoError(t, a.Build(ctx, sh))
	require.NoError(t, a.Start(ctx))
	defer a.Stop(context.Background())
	go a.Bot.Run(ctx, sh)
	select {
	case <-sh.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("the shell did not finish; it printed:\n%s", out.String())
	}
	return out.String()
}

// TestFromTheShell is the "from the shell adapter" list, typed into
// `opsbot shell` against real instance servers.
func TestFromTheShell(t *testing.T) {
	p := newPlatform(t)
	p.green.Set(fleettest.Unhealthy)
	out := runShell(t, p, strings.Join([]string{
		"platform",
		"restart blue",
		"force restart blue",
		"1", // the Confirm choice
		"health",
		"3", // cron
		"tasks master active",
		"switch api to green",
	}, "\n")+"\n")
	t.Log("\n" + out)

	// platform: every instance, the active one marked.
	// (The shell prints plain text: no *bold* or `code` marks.)
	assert.Regexp(t, `(?m)^\[ops\] opsbot: \[WARNING\] Platform: 3 instances — 2 up, 1 down`, out)
	assert.Regexp(t, `(?m)^  - blue \(api\) ACTIVE: up · 1\.4\.2`, out)
	assert.Regexp(t, `(?m)^  - green \(api\): down — HTTP 503, status fail · 1\.5\.0$`, out)
	assert.Regexp(t, `(?m)^  - cron ACTIVE: up · 1\.4\.2`, out)

	// restart blue while blue is active: refused, with why and how.
	assert.Contains(t, out, "Not restarting blue: blue is ACTIVE and serving api's traffic in production")
	assert.Contains(t, out, "force restart blue (needs fleet:force-restart and asks for confirmation)")

	// force restart blue: asks, runs only after the answer.
	confirm := strings.Index(out, "force restart blue needs confirmation")
	ran := strings.Index(out, "restarted blue for alice")
	require.GreaterOrEqual(t, confirm, 0, "asked for confirmation")
	require.Greater(t, ran, confirm, "ran after the confirmation")
	assert.Contains(t, out, "1. Confirm")
	assert.Contains(t, out, "Force-restarting blue")
	assert.True(t, p.restarted(t, "blue"))

	// health with no instance: the choices, answered by number.
	assert.Contains(t, out, "Which instance?")
	assert.Regexp(t, `(?m)^  1\. blue$`, out)
	assert.Regexp(t, `(?m)^  3\. cron — reply with the number$`, out)
	assert.Contains(t, out, "cron is up")

	// tasks master active: the active instance of master's app.
	assert.Contains(t, out, "Tasks on blue (1):")
	assert.Contains(t, out, "nightly-report · running · since 09:00 · 45%")

	// switch api to green while green is unhealthy: refused.
	assert.Contains(t, out, "Not switching: green is not healthy, so api stays on blue: green is down (HTTP 503, status fail)")
}
