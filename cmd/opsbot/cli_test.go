package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestShellAnswersHelpWhoamiPing(t *testing.T) {
	dir := t.TempDir()
	r := opsbot(t, dir, "help\nwhoami\nping\n", "shell", "--user", "alice")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "Commands you may run")
	require.Contains(t, r.stdout, "You are alice, a guest")
	require.Contains(t, r.stdout, "pong")
	// in order, one answer per line of input
	require.Less(t, strings.Index(r.stdout, "Commands you may run"), strings.Index(r.stdout, "You are alice"))
	require.Less(t, strings.Index(r.stdout, "You are alice"), strings.Index(r.stdout, "pong"))
}

func TestConfigCheckNamesFileLineAndKey(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), "bot:\n  name: opsbot\n  nmae: typo\n  confirm_timeout: 5 minutes\nslak:\n  token: x\n")
	r := opsbot(t, dir, "", "config", "check")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `opsbot.yaml:3: bot.nmae: unknown key`)
	require.Contains(t, r.stderr, `opsbot.yaml:4: bot.confirm_timeout: "5 minutes" is not a duration`)
	require.Contains(t, r.stderr, `opsbot.yaml:5: slak: unknown section`)

	writeFile(t, filepath.Join(dir, "opsbot.yaml"), "bot:\n  name: opsbot\n  prefix: \"!\"\n")
	r = opsbot(t, dir, "", "config", "check")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "opsbot.yaml: ok")

	r = opsbot(t, dir, "", "--config", "missing.yaml", "config", "check")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "missing.yaml does not exist")
}

func TestRunsWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	r := opsbot(t, dir, "", "config", "check")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "defaults")
	r = opsbot(t, dir, "", "version")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "opsbot")
}

var listening = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// serve starts `opsbot serve` in dir on a free port and returns its URL.
func serve(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return serveLogged(t, dir, nil, "", args...)
}

// serveLogged is serve with extra environment variables, its stderr (the
// log) copied to logPath when that is not empty.
func serveLogged(t *testing.T, dir string, env []string, logPath string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	var logFile *os.File
	if logPath != "" {
		logFile, err = os.Create(logPath)
		require.NoError(t, err)
	}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if logFile != nil {
				logFile.WriteString(sc.Text() + "\n")
			}
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case url := <-found:
		return url
	case <-time.After(30 * time.Second):
		t.Fatal("opsbot serve did not say where it listens")
	}
	return ""
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeHealthMetricsAndAuditAPITokens(t *testing.T) {
	dir := t.TempDir()
	r := opsbot(t, dir, "", "token", "create", "--name", "reader", "--scope", "audit:read")
	require.Equal(t, 0, r.code, r.stderr)
	reader := strings.TrimSpace(r.stdout)
	require.True(t, strings.HasPrefix(reader, "opsbot_"))
	r = opsbot(t, dir, "", "token", "create", "--name", "sender", "--scope", "events:write")
	require.Equal(t, 0, r.code, r.stderr)
	sender := strings.TrimSpace(r.stdout)

	url := serve(t, dir)
	code, _ := get(t, url+"/healthz", "")
	require.Equal(t, http.StatusOK, code)
	code, _ = get(t, url+"/readyz", "")
	require.Equal(t, http.StatusOK, code)

	code, body := get(t, url+"/api/v1/audit", "")
	require.Equal(t, http.StatusUnauthorized, code, body)
	code, body = get(t, url+"/api/v1/audit", "opsbot_wrong")
	require.Equal(t, http.StatusUnauthorized, code, body)
	code, body = get(t, url+"/api/v1/audit", sender)
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, "audit:read")
	code, body = get(t, url+"/api/v1/audit", reader)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"entries"`)

	code, body = get(t, url+"/metrics", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "go_goroutines")

	r = opsbot(t, dir, "", "token", "revoke", "reader")
	require.Equal(t, 0, r.code, r.stderr)
	// the server trusts a verified token for httpapi.TokenCacheTTL (5 s)
	require.Eventually(t, func() bool {
		code, _ := get(t, url+"/api/v1/audit", reader)
		return code == http.StatusUnauthorized
	}, 10*time.Second, 100*time.Millisecond, "a revoked token is refused within the cache TTL")
	r = opsbot(t, dir, "", "token", "list")
	require.Contains(t, r.stdout, "revoked")
	require.NotContains(t, r.stdout, sender, "token list never shows a token")
}

func TestExampleConfigIsValid(t *testing.T) {
	dir := t.TempDir()
	example, err := filepath.Abs("../../examples/opsbot.yaml")
	require.NoError(t, err)
	r := opsbot(t, dir, "", "--config", example, "config", "check")
	require.Equal(t, 0, r.code, r.stderr)
}
