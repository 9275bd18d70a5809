package notify

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/event"
)

func TestUngroupedPostsAtOnceInOrder(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops", "web:general"]
routes:
  - match: {tag: "deploy.*"}
    rooms: ["shell:deploys"]
`)
	h.send(event.Event{Tag: "deploy.started", Title: "api v1"}, event.Event{Tag: "backup.done", Title: "backup", Text: "42 GB",
		Fields: map[string]string{"size": "42 GB"}, Links: []event.Link{{Title: "log", URL: "https://x.example/log"}}},
		event.Event{Tag: "deploy.finished", Title: "api v1", Severity: event.Info})
	assert.Equal(t, []string{"shell:deploys *api v1*", "shell:#ops *backup*\n42 GB", "web:general *backup*\n42 GB", "shell:deploys *api v1*"}, h.poster.texts())
	p := h.poster.all()[1].Post
	assert.Equal(t, chat.SeverityWarning, p.Severity)
	assert.Equal(t, []chat.Field{{Name: "size", Value: "42 GB", Short: true}}, p.Fields)
	assert.Equal(t, []chat.Link{{Title: "log", URL: "https://x.example/log"}}, p.Links)
	assert.Equal(t, chat.SeverityInfo, h.poster.all()[3].Post.Severity)
	assert.Equal(t, int64(3), h.d.Cursor())

	// The event's own room replaces the route's.
	h.send(event.Event{Tag: "x", Title: "to dev", Room: "shell:dev"})
	assert.Equal(t, "shell:dev *to dev*", h.poster.texts()[4])
}

func TestFingerprintDedupAndResolved(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
repeat_interval: 1h
`)
	disk := event.Event{Tag: "alert.disk", Title: "disk full", Fingerprint: "disk-db1"}
	h.send(disk, disk)
	h.clock.Advance(30 * time.Minute)
	h.send(disk)
	require.Len(t, h.poster.all(), 1, "a firing fingerprint is posted once per repeat_interval")
	h.clock.Advance(31 * time.Minute)
	h.send(disk)
	require.Len(t, h.poster.all(), 2, "and again after it")

	resolved := disk
	resolved.Status = event.Resolved
	h.send(resolved, resolved)
	texts := h.poster.texts()
	require.Len(t, texts, 3, "resolved is posted once")
	assert.Equal(t, "shell:#ops *RESOLVED:* *disk full*", texts[2])
	assert.Equal(t, chat.SeveritySuccess, h.poster.all()[2].Post.Severity)

	// A resolved event for something never posted firing is not news.
	other := event.Event{Tag: "alert.cpu", Fingerprint: "cpu", Status: event.Resolved}
	h.send(other)
	assert.Len(t, h.poster.all(), 3)

	// Events without a fingerprint are separate messages: never deduplicated.
	h.send(event.Event{Tag: "deploy", Title: "same"}, event.Event{Tag: "deploy", Title: "same"})
	assert.Len(t, h.poster.all(), 5)
}

func TestGroupTiming(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
group_by: [service]
group_wait: 30s
group_interval: 5m
repeat_interval: 1h
`)
	h.send(alertEv("HighLatency", "api", event.Firing), alertEv("ErrorRate", "api", event.Firing), alertEv("HighLatency", "web", event.Firing))
	h.advance(29 * time.Second)
	assert.Empty(t, h.poster.all(), "nothing before group_wait")
	h.advance(time.Second)
	texts := h.poster.texts()
	require.Len(t, texts, 2, "one post per group at group_wait")
	assert.Contains(t, texts, "shell:#ops *[FIRING:2] alert.HighLatency service=api*\n- ErrorRate on api\n- HighLatency on api")
	assert.Contains(t, texts, "shell:#ops *[FIRING:1] alert.HighLatency service=web*\n- HighLatency on web")

	// The same alerts again change nothing: no post at the next interval.
	h.send(alertEv("HighLatency", "api", event.Firing))
	h.advance(5 * time.Minute)
	assert.Len(t, h.poster.all(), 2)

	// A new alert in the group is posted at the next group_interval, not before.
	h.send(alertEv("Saturation", "api", event.Firing))
	h.advance(4 * time.Minute)
	assert.Len(t, h.poster.all(), 2)
	h.advance(time.Minute)
	require.Len(t, h.poster.all(), 3)
	assert.True(t, strings.HasPrefix(h.poster.texts()[2], "shell:#ops *[FIRING:3] alert.HighLatency service=api*"), h.poster.texts()[2])

	// Still firing after repeat_interval (from each group's last post): posted again.
	h.advance(49 * time.Minute)
	assert.Len(t, h.poster.all(), 3)
	h.advance(time.Minute)
	require.Len(t, h.poster.all(), 4)
	assert.Contains(t, h.poster.texts()[3], "service=web", "web was last posted at 0:30")
	h.advance(10 * time.Minute)
	require.Len(t, h.poster.all(), 5)
	assert.Contains(t, h.poster.texts()[4], "[FIRING:3] alert.HighLatency service=api", "api was last posted at 10:30")

	// Partly resolved: no post; all resolved: "resolved" once, and the group is gone.
	h.send(alertEv("HighLatency", "api", event.Resolved), alertEv("ErrorRate", "api", event.Resolved))
	h.advance(5 * time.Minute)
	assert.Len(t, h.poster.all(), 5)
	h.send(alertEv("Saturation", "api", event.Resolved))
	h.advance(5 * time.Minute)
	require.Len(t, h.poster.all(), 6)
	assert.Equal(t, "shell:#ops *[RESOLVED] alert.HighLatency service=api*: all 3 cleared", h.poster.texts()[5])
	h.send(alertEv("Saturation", "api", event.Resolved))
	for range 5 {
		h.advance(time.Hour)
	}
	all := strings.Join(h.poster.texts(), "\n")
	assert.Equal(t, 1, strings.Count(all, "RESOLVED"), "no second resolved")
	assert.Equal(t, 4, strings.Count(all, "service=api"), "the api group is gone")
}

func TestGroupStateSurvivesRestart(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
group_by: [service]
group_wait: 30s
repeat_interval: 1h
`)
	h.send(alertEv("Down", "api", event.Firing))
	h.advance(30 * time.Second)
	require.Len(t, h.poster.all(), 1)

	h.restart()
	h.send(alertEv("Down", "api", event.Firing))
	h.advance(10 * time.Minute)
	assert.Len(t, h.poster.all(), 1, "the notification log survived: no repeat before repeat_interval")
	h.send(alertEv("Down", "api", event.Resolved))
	h.restart()
	h.advance(5 * time.Minute)
	require.Len(t, h.poster.all(), 2)
	assert.Contains(t, h.poster.texts()[1], "[RESOLVED]")
	assert.Equal(t, int64(3), h.d.Cursor())
}

func TestResolvedBeforeFirstPostIsQuiet(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
group_by: [service]
`)
	h.send(alertEv("Blip", "api", event.Firing))
	h.advance(10 * time.Second)
	h.send(alertEv("Blip", "api", event.Resolved))
	h.advance(time.Minute)
	assert.Empty(t, h.poster.all(), "a group that cleared before its first post says nothing")
}

func TestThrottle(t *testing.T) {
	t.Run("ungrouped: at most one post per interval, then a count", func(t *testing.T) {
		h := newHarness(t, `
rooms: ["#ops"]
throttle: 1m
`)
		for i := range 5 {
			h.send(event.Event{Tag: "log.error", Title: fmt.Sprintf("error %d", i)})
			h.clock.Advance(10 * time.Second)
		}
		require.Equal(t, []string{"shell:#ops *error 0*"}, h.poster.texts())
		h.advance(10 * time.Second)
		require.Len(t, h.poster.all(), 2)
		assert.Equal(t, "shell:#ops _4 more messages were held back by the throttle of route root._", h.poster.texts()[1])
		assert.Equal(t, 4.0, testutil.ToFloat64(h.d.m.suppressed.WithLabelValues("root", "throttled")))
		assert.Equal(t, 1.0, testutil.ToFloat64(h.d.m.posts.WithLabelValues("root", "throttled")))
		h.advance(time.Minute)
		h.send(event.Event{Tag: "log.error", Title: "error 5"})
		assert.Equal(t, "shell:#ops *error 5*", h.poster.texts()[2])
	})
	t.Run("grouped: changes wait for the throttle", func(t *testing.T) {
		h := newHarness(t, `
rooms: ["#ops"]
group_by: [service]
group_wait: 0s
group_interval: 1m
throttle: 10m
`)
		h.send(alertEv("A", "api", event.Firing))
		h.advance(0)
		require.Len(t, h.poster.all(), 1)
		h.send(alertEv("B", "api", event.Firing))
		h.advance(time.Minute)
		h.advance(time.Minute)
		assert.Len(t, h.poster.all(), 1, "held by the throttle")
		h.advance(8 * time.Minute)
		require.Len(t, h.poster.all(), 2)
		assert.Contains(t, h.poster.texts()[1], "[FIRING:2]")
	})
}

func TestMuteWhen(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
timezone: Europe/Berlin
routes:
  - name: quiet-nights
    match: {tag: "batch.*"}
    mute_when: [{times: ["22:00-07:00"]}]
  - name: grouped
    match: {tag: "alert.*"}
    group_by: [service]
    group_wait: 1m
    mute_when: [{weekdays: [saturday, sunday]}]
`)
	loc, _ := time.LoadLocation("Europe/Berlin")
	h.opts.Location = loc
	h.restart()
	// 09:00 UTC is 10:00 in Berlin: not muted.
	h.send(event.Event{Tag: "batch.done", Title: "day"})
	h.clock.Advance(12 * time.Hour) // 22:00 Berlin
	h.send(event.Event{Tag: "batch.done", Title: "night"})
	assert.Equal(t, []string{"shell:#ops *day*"}, h.poster.texts())
	assert.Equal(t, 1.0, testutil.ToFloat64(h.d.m.suppressed.WithLabelValues("quiet-nights", "muted")))

	// Saturday: the group is held, and posted on Monday.
	h.clock.Advance(4*24*time.Hour + 2*time.Hour) // Saturday 00:00 Berlin
	h.send(alertEv("Disk", "db", event.Firing))
	h.advance(time.Hour)
	assert.Len(t, h.poster.all(), 1)
	h.advance(47*time.Hour + 5*time.Minute) // Monday 00:05 in Berlin
	require.Len(t, h.poster.all(), 2)
	assert.Contains(t, h.poster.texts()[1], "[FIRING:1] alert.Disk service=db")
}

func TestMentions(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
mention: [alice, "group:dba", "label:owner"]
`)
	h.send(event.Event{Tag: "alert.x", Title: "x", Labels: map[string]string{"owner": "carol, alice"}})
	p := h.poster.all()[0].Post
	assert.Equal(t, []string{"A1", "A1"}, p.Mentions[:2])
	assert.Equal(t, "*x*\ncc bob, carol", p.Text, "who has no identity on the adapter is named in the text")
}

func TestActions(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
routes:
  - name: fix
    match: {tag: "mysql.replication.error"}
    rooms: ["shell:dba", "web:dba"]
    run: "fix-replication {labels.host}"
    as: fixer
  - name: grouped
    match: {tag: "disk.*"}
    group_by: [host]
    run: "clean-disk {labels.host}"
    as: fixer
`)
	ev := event.Event{Tag: "mysql.replication.error", Title: "replication broken", Fingerprint: "repl-db1", Labels: map[string]string{"host": "db1"}}
	h.send(ev, ev)
	require.NoError(t, h.d.Sync(h.ctx, sliceLog(nil)))
	assert.Equal(t, []string{"fixer in shell:dba,web:dba: fix-replication db1"}, h.runner.all(), "once per new firing fingerprint")
	res := ev
	res.Status = event.Resolved
	h.send(res)
	bad := ev
	bad.Fingerprint, bad.Labels = "repl-x", map[string]string{"host": "db1; reboot"}
	h.send(bad)
	h.send(event.Event{Tag: "disk.full", Labels: map[string]string{"host": "web1"}}, event.Event{Tag: "disk.full", Labels: map[string]string{"host": "web1"}})
	require.NoError(t, h.d.Sync(h.ctx, sliceLog(nil)))
	assert.Equal(t, []string{"fixer in shell:dba,web:dba: fix-replication db1", "fixer in shell:#ops: clean-disk web1"}, h.runner.all())
	assert.Contains(t, strings.Join(h.poster.texts(), "\n"), "Not running `fix-replication {labels.host}` for mysql.replication.error: {labels.host} is \"db1; reboot\"")

	// A replay of the log (as after a crash) does not run actions again.
	h.seq = 0
	h.restart()
	h.send(ev)
	require.NoError(t, h.d.Sync(h.ctx, sliceLog(nil)))
	assert.Len(t, h.runner.all(), 2)
}

func TestPosterFailureRetriesFromCursor(t *testing.T) {
	h := newHarness(t, `rooms: ["#ops"]`)
	h.poster.fail = errors.New("outbox unavailable")
	err := h.d.Process(h.ctx, []event.Stored{{Seq: 1, Event: event.Event{Tag: "a", Title: "a"}}})
	require.Error(t, err)
	assert.Equal(t, int64(0), h.d.Cursor())
	h.poster.fail = nil
	require.NoError(t, h.d.Process(h.ctx, []event.Stored{{Seq: 1, Event: event.Event{Tag: "a", Title: "a"}}}))
	assert.Equal(t, []string{"shell:#ops *a*"}, h.poster.texts())
	assert.Equal(t, int64(1), h.d.Cursor())
}

func TestNoRoomIsCountedNotFatal(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
`)
	h.opts.DefaultAdapter = func() string { return "" }
	h.restart()
	h.send(event.Event{Tag: "a"}, event.Event{Tag: "b", Room: "shell:x"})
	assert.Equal(t, []string{"shell:x *b*"}, h.poster.texts())
	assert.Equal(t, int64(2), h.d.Cursor())
}

// TestFlood: 10,000 alerts for one service within a minute, group_wait 30s
// and group_interval 5m, reach the room as at most 10 posts, then exactly one
// "resolved" when they clear.
func TestFlood(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
group_by: [service]
group_wait: 30s
group_interval: 5m
`)
	const n = 10000
	batch := make([]event.Event, 0, 500)
	for i := range n {
		batch = append(batch, event.Event{Tag: "alert.http", Title: fmt.Sprintf("5xx on pod %d", i), Severity: event.Critical,
			Labels: map[string]string{"service": "api", "pod": fmt.Sprint(i)}})
		if len(batch) == cap(batch) {
			h.send(batch...)
			batch = batch[:0]
			h.advance(3 * time.Second) // 20 batches over a minute
		}
	}
	assert.Equal(t, 1.0, testutil.ToFloat64(h.d.m.groups), "one group")
	h.advance(30 * time.Minute)
	firing := len(h.poster.all())
	t.Logf("%d alerts became %d posts", n, firing)
	assert.LessOrEqual(t, firing, 10)
	assert.GreaterOrEqual(t, firing, 1)
	assert.Contains(t, h.poster.texts()[firing-1], "[FIRING:10000] alert.http service=api")
	assert.Contains(t, h.poster.texts()[firing-1], "…and 9990 more")

	for i := range n {
		batch = append(batch, event.Event{Tag: "alert.http", Status: event.Resolved, Labels: map[string]string{"service": "api", "pod": fmt.Sprint(i)}})
		if len(batch) == cap(batch) {
			h.send(batch...)
			batch = batch[:0]
			h.advance(20 * time.Second) // clearing over several group intervals
		}
	}
	h.advance(time.Hour)
	posts := h.poster.texts()[firing:]
	require.Len(t, posts, 1, "exactly one post after they clear")
	assert.Equal(t, 0.0, testutil.ToFloat64(h.d.m.groups), "the group is gone")
	assert.Equal(t, float64(2*n), testutil.ToFloat64(h.d.m.events))
	assert.Equal(t, "shell:#ops *[RESOLVED] alert.http service=api*: all 10000 cleared", posts[0])
}

// An idle step writes nothing; a claim of an action is forgotten after a week.
func TestIdleStepsWriteNothing(t *testing.T) {
	h := newHarness(t, `
rooms: ["#ops"]
routes:
  - match: {tag: "fix"}
    run: "fix {labels.host}"
    as: fixer
`)
	h.send(event.Event{Tag: "fix", Labels: map[string]string{"host": "a"}})
	updated := func() (ms int64) {
		require.NoError(t, h.opts.DB.QueryRow(`SELECT updated FROM notify_cursor`).Scan(&ms))
		return ms
	}
	claims := func() (n int) {
		require.NoError(t, h.opts.DB.QueryRow(`SELECT count(*) FROM notify_actions`).Scan(&n))
		return n
	}
	before := updated()
	assert.Equal(t, 1, claims())
	h.advance(time.Minute)
	assert.Equal(t, before, updated())
	h.clock.Advance(8 * 24 * time.Hour)
	h.send(event.Event{Tag: "other"})
	assert.Greater(t, updated(), before)
	assert.Equal(t, 0, claims(), "the week-old claim is pruned")
}
