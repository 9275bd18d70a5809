package eventsql_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/event/eventsql"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// databases opens a migrated store on each dialect.
var databases = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "events.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
}

// OpenLog returns a log on a fresh, migrated database at url.
func openLog(t *testing.T, url string) *eventsql.Log {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), url, "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(t.Context()))
	return eventsql.New(st.DB(), st.Dialect(), nil)
}

func forEachDB(t *testing.T, fn func(t *testing.T, l *eventsql.Log)) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			fn(t, openLog(t, db.url(t)))
		})
	}
}

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func ev(tag string, at time.Time, labels map[string]string, title string) event.Event {
	return event.Event{Tag: tag, Severity: event.Info, Status: event.Firing, Title: title, Labels: labels,
		Source: "test", Time: at}
}

func TestAppendAfterRoundTrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, l *eventsql.Log) {
		ctx := t.Context()
		head, err := l.Head(ctx)
		require.NoError(t, err)
		require.Zero(t, head)

		full := event.Event{
			Tag: "deploy.finished", Severity: event.Warning, Status: event.Resolved, Title: "Deployed api",
			Text: "api 1.4.2 → production\nby alice", Labels: map[string]string{"service": "api", "env": "production"},
			Fields: map[string]string{"version": "1.4.2"}, Links: []event.Link{{Title: "build", URL: "https://ci.example.com/1"}},
			Room: "#ops", Fingerprint: "deploy-api", Source: "jenkins", Time: t0.Add(1234567 * time.Nanosecond),
		}
		got, err := l.Append(ctx, []event.Event{full, ev("backup.failed", t0, nil, "b"), ev("x.y", t0, nil, "c")})
		require.NoError(t, err)
		require.Len(t, got, 3)
		require.Len(t, got[0].ID, 26, "a ULID-like ID is assigned")
		require.NotEqual(t, got[0].ID, got[1].ID)
		require.Less(t, got[0].Seq, got[1].Seq)
		require.Less(t, got[1].Seq, got[2].Seq)
		want := full
		want.ID = got[0].ID
		want.Time = t0.Add(time.Millisecond) // kept to the millisecond
		require.Equal(t, event.Stored{Seq: got[0].Seq, Event: want}, got[0])

		after, err := l.After(ctx, 0, 2)
		require.NoError(t, err)
		require.Equal(t, got[:2], after, "After reads back exactly what Append returned")
		after, err = l.After(ctx, got[1].Seq, 10)
		require.NoError(t, err)
		require.Equal(t, got[2:], after)
		after, err = l.After(ctx, got[2].Seq, 10)
		require.NoError(t, err)
		require.Empty(t, after)

		head, err = l.Head(ctx)
		require.NoError(t, err)
		require.Equal(t, got[2].Seq, head)
		n, err := l.Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
	})
}

func TestAppendDuplicateIDIsIdempotent(t *testing.T) {
	forEachDB(t, func(t *testing.T, l *eventsql.Log) {
		ctx := t.Context()
		e := ev("backup.finished", t0, map[string]string{"host": "db1"}, "backup ok")
		e.ID = "01JDRETRY000000000000000AA"
		first, err := l.Append(ctx, []event.Event{e})
		require.NoError(t, err)
		again := e
		again.Title = "a retry with other content is still the same event"
		second, err := l.Append(ctx, []event.Event{again, ev("other", t0, nil, "o"), again})
		require.NoError(t, err)
		require.Equal(t, first[0], second[0], "the stored event comes back")
		require.Equal(t, first[0], second[2])
		require.Greater(t, second[1].Seq, first[0].Seq)
		n, err := l.Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
	})
}

func TestQuery(t *testing.T) {
	forEachDB(t, func(t *testing.T, l *eventsql.Log) {
		ctx := t.Context()
		in := []event.Event{
			ev("deploy.started", t0, map[string]string{"service": "api"}, "Deploying api"),               // 0
			ev("deploy.finished", t0.Add(time.Minute), map[string]string{"service": "api"}, "Deployed"),  // 1
			ev("alert", t0.Add(2*time.Minute), map[string]string{"service": "api2"}, "bare alert"),       // 2
			ev("alert.db.down", t0.Add(3*time.Minute), map[string]string{"service": "db"}, "DB is DOWN"), // 3
			ev("alerts.other", t0.Add(4*time.Minute), nil, "not an alert.**"),                            // 4
			ev("config.changed", t0.Add(5*time.Minute), map[string]string{"q": `a"b_%`}, "50% done"),     // 5
			ev("deploy.api.started", t0.Add(6*time.Minute), nil, "three words"),                          // 6
		}
		in[3].Source = "alertmanager"
		in[3].Text = "Replication lag on db1"
		st, err := l.Append(ctx, in)
		require.NoError(t, err)
		seqs := func(ss []event.Stored) []int64 {
			out := []int64{}
			for _, s := range ss {
				out = append(out, s.Seq)
			}
			return out
		}
		idx := func(is ...int) []int64 {
			out := []int64{}
			for _, i := range is {
				out = append(out, st[i].Seq)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    event.Filter
			want []int64
		}{
			{"all, newest first", event.Filter{}, idx(6, 5, 4, 3, 2, 1, 0)},
			{"one segment", event.Filter{TagPattern: "deploy.*"}, idx(1, 0)},
			{"any segments, including none", event.Filter{TagPattern: "alert.**"}, idx(3, 2)},
			{"exact tag, any case", event.Filter{TagPattern: "Deploy.Finished"}, idx(1)},
			{"leading wildcard", event.Filter{TagPattern: "*.started"}, idx(0)},
			{"everything", event.Filter{TagPattern: "**"}, idx(6, 5, 4, 3, 2, 1, 0)},
			{"source", event.Filter{Source: "alertmanager"}, idx(3)},
			{"label, not a prefix of another", event.Filter{Label: map[string]string{"service": "api"}}, idx(1, 0)},
			{"label with LIKE wildcards and quotes", event.Filter{Label: map[string]string{"q": `a"b_%`}}, idx(5)},
			{"label absent", event.Filter{Label: map[string]string{"service": "nope"}}, idx()},
			{"text in title, any case", event.Filter{Text: "deployed"}, idx(1)},
			{"text in text", event.Filter{Text: "REPLICATION"}, idx(3)},
			{"text with a LIKE wildcard", event.Filter{Text: "50%"}, idx(5)},
			{"since inclusive, until exclusive", event.Filter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, idx(2, 1)},
			{"limit", event.Filter{Limit: 2}, idx(6, 5)},
			{"page", event.Filter{Limit: 2, Before: st[5].Seq}, idx(4, 3)},
			{"filters combine", event.Filter{TagPattern: "deploy.**", Since: t0.Add(30 * time.Second)}, idx(6, 1)},
		} {
			got, err := l.Query(ctx, tc.f)
			require.NoError(t, err, tc.name)
			require.Equal(t, tc.want, seqs(got), tc.name)
		}
	})
}

// TestQueryPagesThroughNonMatches checks that a pattern checked in Go reads
// on past chunks of events SQL could not rule out.
func TestQueryPagesThroughNonMatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, l *eventsql.Log) {
		ctx := t.Context()
		var batch []event.Event
		for i := range 5 {
			batch = append(batch, ev("deploy.api.started", t0, nil, fmt.Sprint("match ", i)))
		}
		for i := range 450 {
			batch = append(batch, ev("deploy.api.finished", t0, nil, fmt.Sprint("filler ", i)))
		}
		_, err := l.Append(ctx, batch)
		require.NoError(t, err)
		got, err := l.Query(ctx, event.Filter{TagPattern: "deploy.*.started", Limit: 3})
		require.NoError(t, err)
		require.Len(t, got, 3)
		require.Equal(t, "match 4", got[0].Title)
		next, err := l.Query(ctx, event.Filter{TagPattern: "deploy.*.started", Limit: 3, Before: got[2].Seq})
		require.NoError(t, err)
		require.Len(t, next, 2)
		require.Equal(t, "match 0", next[1].Title)
	})
}

func TestNotify(t *testing.T) {
	forEachDB(t, func(t *testing.T, l *eventsql.Log) {
		ctx, cancel := context.WithCancel(t.Context())
		wake := l.Notify(ctx)
		select {
		case <-wake:
			t.Fatal("woken before any append")
		default:
		}
		_, err := l.Append(t.Context(), []event.Event{ev("a.b", t0, nil, "x")})
		require.NoError(t, err)
		select {
		case <-wake:
		case <-time.After(10 * time.Second):
			t.Fatal("not woken by an append")
		}
		cancel()
		require.Eventually(t, func() bool {
			select {
			case _, ok := <-wake:
				return !ok
			default:
				return false
			}
		}, 10*time.Second, time.Millisecond, "the channel is closed when ctx ends")
	})
}

// TestConcurrentAppendsReadInOrder has writers append while a reader follows
// the log with After: it sees every event exactly once, in Seq order.
func TestConcurrentAppendsReadInOrder(t *testing.T) {
	forEachDB(t, func(t *testing.T, l *eventsql.Log) {
		ctx := t.Context()
		const writers, each = 4, 40
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					_, err := l.Append(ctx, []event.Event{ev("load.test", t0, nil, fmt.Sprintf("%d-%d", w, i))})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		seen := map[string]bool{}
		var cursor int64
		deadline := time.Now().Add(30 * time.Second)
		for len(seen) < writers*each && time.Now().Before(deadline) {
			got, err := l.After(ctx, cursor, 7)
			require.NoError(t, err)
			for _, s := range got {
				require.Greater(t, s.Seq, cursor)
				cursor = s.Seq
				require.False(t, seen[s.Title], "seen twice: %s", s.Title)
				seen[s.Title] = true
			}
		}
		wg.Wait()
		require.Len(t, seen, writers*each)
	})
}
