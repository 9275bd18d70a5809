package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store/sqlstore"
)

// A post the outbox gave up on is listed by `opsbot outbox failed`, requeued
// by `opsbot outbox retry`, and delivered by the next opsbot that has its
// chat; the shell's own replies go through the outbox meanwhile.
func TestOutboxFailedAndRetry(t *testing.T) {
	dir := t.TempDir()
	r := opsbot(t, dir, "ping\n", "shell", "--user", "alice")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "pong")

	// A post that failed earlier (the chat refused it for good), as the outbox records it.
	st, err := sqlstore.Open(t.Context(), "", filepath.Join(dir, "opsbot-data"))
	require.NoError(t, err)
	now := time.Now().UnixMilli()
	_, err = st.DB().ExecContext(t.Context(), `INSERT INTO outbox (adapter, room, room_name, op, post, state, attempts, errors, enqueued, finished, error_text)
		VALUES ('shell', 'shell', 'shell', 'post', '{"text":"backup of db1 finished"}', 'failed', 8, 8, $1, $1, 'connection reset by peer')`, now)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	r = opsbot(t, dir, "", "outbox", "failed")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "backup of db1 finished")
	require.Contains(t, r.stdout, "connection reset by peer")
	r = opsbot(t, dir, "", "outbox", "failed", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var e struct {
		ID       int64
		State    string
		Attempts int
		Post     struct{ Text string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &e))
	require.Equal(t, "failed", e.State)
	require.Equal(t, 8, e.Attempts)

	r = opsbot(t, dir, "", "outbox", "retry", "999")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "no failed post 999")
	r = opsbot(t, dir, "", "outbox", "retry", "1")
	require.Equal(t, 1, r.code, "post 1 (pong) was delivered, not failed")
	require.Equal(t, int64(2), e.ID)

	r = opsbot(t, dir, "", "outbox", "retry", fmt.Sprint(e.ID))
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "requeued")
	r = opsbot(t, dir, "", "outbox", "failed")
	require.NotContains(t, r.stdout, "backup of db1")

	// The next shell delivers it, before answering.
	r = opsbot(t, dir, "whoami\n", "shell", "--user", "alice")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `(?s)backup of db1 finished.*You are alice`, r.stdout)
}
