package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/event/eventsql"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// TestTellSpoolsThenFlushes: with the server down `tell` spools and exits
// 75; once it is up, `tell --flush` delivers and the event is stored.
func TestTellSpoolsThenFlushes(t *testing.T) {
	dir := t.TempDir()
	r := opsbot(t, dir, "", "token", "create", "--name", "backup", "--scope", "events:write")
	require.Equal(t, 0, r.code, r.stderr)
	token := strings.TrimSpace(r.stdout)
	state := filepath.Join(dir, "state")

	// A port where nothing listens: the server is stopped.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	env := []string{"XDG_STATE_HOME=" + state, "OPSBOT_TOKEN=" + token, "OPSBOT_URL=" + down}
	r = opsbotEnv(t, dir, env, "nightly backup of db1 failed\nexit 2\n",
		"tell", "--tag", "backup.failed", "--severity", "critical", "--label", "host=db1", "-")
	require.Equal(t, 75, r.code, r.stderr)
	require.Contains(t, r.stderr, "spooled in "+filepath.Join(state, "opsbot", "spool"))
	require.NotContains(t, r.stdout+r.stderr, token, "the token is never printed")
	spool := filepath.Join(state, "opsbot", "spool")
	files, err := filepath.Glob(filepath.Join(spool, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)

	// Rejected before spooling: the event is checked locally.
	r = opsbotEnv(t, dir, env, "", "tell", "--tag", "Not A Tag", "text")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `tag: "Not A Tag" is not dotted lowercase words`)

	url := serve(t, dir)
	env[2] = "OPSBOT_URL=" + url
	r = opsbotEnv(t, dir, env, "", "tell", "--flush")
	require.Equal(t, 0, r.code, r.stderr)
	files, err = filepath.Glob(filepath.Join(spool, "*.json"))
	require.NoError(t, err)
	require.Empty(t, files, "the spool is empty")
	sentID := strings.TrimSpace(r.stdout)

	// A server-side rejection (a wrong token) exits 1 with the server's error.
	r = opsbotEnv(t, dir, []string{"XDG_STATE_HOME=" + state, "OPSBOT_URL=" + url}, "", "tell", "--token", "opsbot_wrong", "--tag", "a.b", "x")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "rejected (401): invalid or revoked API token")
	require.NotContains(t, r.stderr, "opsbot_wrong")

	r = opsbotEnv(t, dir, env, "", "tell", "--tag", "deploy.finished", "--label", "service=api", "Deployed api 1.4.2")
	require.Equal(t, 0, r.code, r.stderr)

	st, err := sqlstore.Open(t.Context(), "", filepath.Join(dir, "opsbot-data"))
	require.NoError(t, err)
	defer st.Close()
	got, err := eventsql.New(st.DB(), st.Dialect(), nil).Query(t.Context(), event.Filter{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, sentID, got[1].ID)
	require.Equal(t, "backup.failed", got[1].Tag)
	require.Equal(t, event.Critical, got[1].Severity)
	require.Equal(t, "nightly backup of db1 failed", got[1].Title)
	require.Equal(t, "nightly backup of db1 failed\nexit 2", got[1].Text)
	require.Equal(t, map[string]string{"host": "db1"}, got[1].Labels)
	require.Equal(t, "tell", got[1].Source)
	require.Equal(t, "deploy.finished", got[0].Tag)
	_ = os.RemoveAll(state)
}
