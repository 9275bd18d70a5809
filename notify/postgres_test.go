package notify

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store/pgtest"
)

// TestStateOnPostgres: the cursor, the groups and the action claims on a
// real PostgreSQL, across a restart.
func TestStateOnPostgres(t *testing.T) {
	h := newHarnessOn(t, pgtest.Start(t), `
rooms: ["#ops"]
group_by: [service]
group_wait: 30s
repeat_interval: 1h
routes:
  - name: fix
    match: {tag: "mysql.*"}
    group_by: []
    run: "fix {labels.host}"
    as: fixer
`)
	h.send(alertEv("Down", "api", event.Firing), event.Event{Tag: "mysql.error", Labels: map[string]string{"host": "db1"}})
	require.Len(t, h.poster.all(), 1, "group_by: [] posts at once")
	h.advance(30 * time.Second)
	require.Len(t, h.poster.all(), 2)
	require.NoError(t, h.d.Sync(h.ctx, sliceLog(nil)))
	assert.Equal(t, []string{"fixer in shell:#ops: fix db1"}, h.runner.all())

	h.restart()
	h.send(alertEv("Down", "api", event.Firing))
	h.advance(10 * time.Minute)
	assert.Len(t, h.poster.all(), 2, "no repeat before repeat_interval after a restart")
	h.send(alertEv("Down", "api", event.Resolved))
	h.restart()
	h.advance(5 * time.Minute)
	require.Len(t, h.poster.all(), 3)
	assert.Contains(t, h.poster.texts()[2], "[RESOLVED]")
	assert.Equal(t, int64(4), h.d.Cursor())

	// A replay does not run the action again.
	h.restart()
	require.NoError(t, h.d.Sync(h.ctx, sliceLog{{Seq: 2, Event: event.Event{Tag: "mysql.error", Status: event.Firing, Labels: map[string]string{"host": "db1"}}}}))
	assert.Len(t, h.runner.all(), 1)
}
