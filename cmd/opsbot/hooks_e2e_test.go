package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/hooks/hookstest"
)

// TestGitHubReleaseNotesReachAChannel: a signed GitHub release webhook is
// acknowledged only once stored, and a route posts its release notes to a
// room; a forged one is refused and the secret never reaches the log.
func TestGitHubReleaseNotesReachAChannel(t *testing.T) {
	const secret = "e2e-github-webhook-secret"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), `
hooks:
  github:
    secret: `+secret+`
routes:
  poll_interval: 100ms
  routes:
    - match: {tag: release.github}
      rooms: ["web:releases"]
`)
	logs := &lockedBuffer{}
	defer func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	}()
	srv := startServer(t, dir, logs)

	body, err := os.ReadFile("../../hooks/github/testdata/release.published.with_notes.json")
	require.NoError(t, err)
	send := func(sig string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, srv.url+"/hooks/github", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "release")
		req.Header.Set("X-GitHub-Delivery", "e2e-delivery-1")
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, out := send("")
	require.Equal(t, http.StatusUnauthorized, code, out)
	code, out = send("sha256=" + hookstest.HexHMAC("guessed", body))
	require.Equal(t, http.StatusUnauthorized, code, out)
	code, out = send("sha256=" + hookstest.HexHMAC(secret, body))
	require.Equal(t, http.StatusAccepted, code, out)
	var resp struct{ IDs []string }
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	require.Len(t, resp.IDs, 1)
	_, metrics := get(t, srv.url+"/metrics", "")
	require.Contains(t, metrics, `opsbot_hooks_deliveries_total{outcome="unauthorized",source="github"} 2`)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "opsbot-data", "opsbot.db")+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var posts []string
		rows, err := db.Query(`SELECT post FROM web_messages WHERE room = $1 AND bot ORDER BY id`, "releases")
		require.NoError(t, err)
		for rows.Next() {
			var raw string
			require.NoError(t, rows.Scan(&raw))
			posts = append(posts, raw)
		}
		require.NoError(t, rows.Close())
		joined := strings.Join(posts, "\n")
		if strings.Contains(joined, "faster deploys") {
			require.Contains(t, joined, "Codertocat/Hello-World 0.0.1 released")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the release notes never reached #releases; posts: %v", posts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Contains(t, logs.String(), "webhook rejected")
	require.NotContains(t, logs.String(), secret)
}
