package event_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/event/eventsql"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func openLog(t *testing.T, url string) *eventsql.Log {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), url, "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(t.Context()))
	return eventsql.New(st.DB(), st.Dialect(), nil)
}

func sqliteLog(t *testing.T) *eventsql.Log {
	return openLog(t, filepath.Join(t.TempDir(), "events.db"))
}

// gatedLog holds every Append until the test opens the gate, so the test
// can line up concurrent callers behind a commit in progress.
type gatedLog struct {
	event.Log
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (g *gatedLog) Append(ctx context.Context, evs []event.Event) ([]event.Stored, error) {
	g.once.Do(func() {
		close(g.entered)
		<-g.gate
	})
	return g.Log.Append(ctx, evs)
}

func newIngester(t *testing.T, o event.IngesterOptions) *event.BatchIngester {
	t.Helper()
	if o.Clock == nil {
		o.Clock = clock.NewFake(t0)
	}
	g, err := event.NewIngester(t.Context(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	return g
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit lines up 50 concurrent callers behind a commit in
// progress: they are then stored in one transaction, and every caller gets
// its own events back, stored.
func TestGroupCommit(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "events.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			l := openLog(t, db.url(t))
			gl := &gatedLog{Log: l, entered: make(chan struct{}), gate: make(chan struct{})}
			reg := prometheus.NewRegistry()
			g := newIngester(t, event.IngesterOptions{Log: gl, Metrics: reg})
			ctx := t.Context()

			firstDone := make(chan error, 1)
			go func() {
				_, err := g.Ingest(ctx, []event.Event{{Tag: "first", Title: "holds the gate"}})
				firstDone <- err
			}()
			<-gl.entered
			const callers = 50
			ids := make([][]event.Stored, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					st, err := g.Ingest(ctx, []event.Event{
						{Tag: "load.test", Title: fmt.Sprint("a", i), Source: "bench"},
						{Tag: "load.test", Title: fmt.Sprint("b", i), Source: "bench"},
					})
					if err != nil {
						t.Error(err)
					}
					ids[i] = st
				})
			}
			waitFor(t, "the callers to queue", func() bool { return g.Pending() == callers })
			close(gl.gate)
			require.NoError(t, <-firstDone)
			wg.Wait()

			stats := g.Stats()
			require.EqualValues(t, 2, stats.Batches, "the first call, then all the others together")
			require.EqualValues(t, 2*callers, stats.MaxBatch)
			require.EqualValues(t, 1+2*callers, stats.Events)
			for i, st := range ids {
				require.Len(t, st, 2)
				require.Equal(t, fmt.Sprint("a", i), st[0].Title, "each caller gets its own events")
				require.Equal(t, fmt.Sprint("b", i), st[1].Title)
				require.Equal(t, st[0].Seq+1, st[1].Seq, "a call's events are stored together")
				got, err := l.After(ctx, st[0].Seq-1, 1)
				require.NoError(t, err)
				require.Equal(t, st[0], got[0], "acknowledged means stored")
			}
			n, err := l.Count(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 1+2*callers, n)
			require.Equal(t, 2.0*callers, metric(t, reg, "opsbot_events_total", "bench"))
			require.Equal(t, 1, testutil.CollectAndCount(reg, "opsbot_event_ingest_batch_size"))
		})
	}
}

// metric is the value of a counter in reg, the one whose first label is
// label ("" for a counter without labels).
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{%q}", name, label)
	return 0
}

// TestConcurrentIngestUnderLoad runs many callers freely (no gate): every
// acknowledged event is stored, and batches hold more than one event.
func TestConcurrentIngestUnderLoad(t *testing.T) {
	l := sqliteLog(t)
	g := newIngester(t, event.IngesterOptions{Log: l})
	ctx := t.Context()
	const callers, each = 32, 25
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				st, err := g.Ingest(ctx, []event.Event{{Tag: "load.test", Title: fmt.Sprint(c, "-", i)}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[st[0].ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	all, err := l.After(ctx, 0, 10000)
	require.NoError(t, err)
	require.Len(t, all, callers*each)
	for _, s := range all {
		require.True(t, acked[s.ID])
	}
	require.Len(t, acked, callers*each)
	stats := g.Stats()
	t.Logf("%d events in %d transactions (largest %d)", stats.Events, stats.Batches, stats.MaxBatch)
	require.Greater(t, stats.MaxBatch, int64(1), "concurrent calls share transactions")
	require.Less(t, stats.Batches, int64(callers*each))
}

func TestIngestValidatesAndDefaults(t *testing.T) {
	l := sqliteLog(t)
	g := newIngester(t, event.IngesterOptions{Log: l, Clock: clock.NewFake(t0)})
	ctx := t.Context()
	_, err := g.Ingest(ctx, []event.Event{{Tag: "ok", Title: "fine"}, {Tag: "Bad Tag", Title: "x"}})
	require.ErrorIs(t, err, event.ErrInvalid)
	require.EqualError(t, err, `events[1].tag: "Bad Tag" is not dotted lowercase words (e.g. deploy.finished, backup.failed)`)
	n, err := l.Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing of an invalid batch is stored")

	in := []event.Event{{Tag: "backup.finished", Text: "nightly backup done"}}
	st, err := g.Ingest(ctx, in)
	require.NoError(t, err)
	require.Equal(t, event.Info, st[0].Severity)
	require.Equal(t, event.Firing, st[0].Status)
	require.Equal(t, t0, st[0].Time, "the time comes from the injected clock")
	require.Equal(t, "nightly backup done", st[0].Title)
	require.Empty(t, in[0].Severity, "the caller's events are not modified")
}

// TestPublishAfterStoreInOrder checks that subscribers see events in log
// order, each already readable from the log, and without holding up ingestion.
func TestPublishAfterStoreInOrder(t *testing.T) {
	l := sqliteLog(t)
	bus := event.NewBus(nil)
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	var notStored []string
	bus.Subscribe("test", "**", func(ctx context.Context, e event.Event) error {
		if e.Title == "slow" {
			<-release
		}
		got, err := l.Query(ctx, event.Filter{Text: e.Title, Limit: 1})
		mu.Lock()
		defer mu.Unlock()
		if err != nil || len(got) == 0 || got[0].ID != e.ID {
			notStored = append(notStored, e.Title)
		}
		seen = append(seen, e.Title)
		return nil
	})
	// A tiny publish queue: the slow subscriber makes the publisher fall
	// behind, and it must then read the missed events back from the log.
	g := newIngester(t, event.IngesterOptions{Log: l, Bus: bus, PublishQueue: 2})
	ctx := t.Context()
	var want []string
	for i := range 20 {
		title := fmt.Sprintf("e%02d", i)
		if i == 0 {
			title = "slow"
		}
		want = append(want, title)
		_, err := g.Ingest(ctx, []event.Event{{Tag: "t", Title: title}})
		require.NoError(t, err, "ingestion goes on while a subscriber is stuck")
	}
	// A retry of an event already stored is not published again.
	dup := event.Event{ID: "retry-1", Tag: "t", Title: "dup"}
	want = append(want, "dup")
	for range 2 {
		_, err := g.Ingest(ctx, []event.Event{dup})
		require.NoError(t, err)
	}
	close(release)
	require.NoError(t, g.Close(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, want, seen)
	require.Empty(t, notStored)
}

type failingLog struct{ event.Log }

func (failingLog) Append(context.Context, []event.Event) ([]event.Stored, error) {
	return nil, errors.New("disk full")
}

func TestAppendFailureReachesEveryCaller(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := newIngester(t, event.IngesterOptions{Log: failingLog{sqliteLog(t)}, Metrics: reg})
	_, err := g.Ingest(t.Context(), []event.Event{{Tag: "a", Title: "x"}})
	require.ErrorContains(t, err, "store events: disk full")
	require.EqualValues(t, 1, g.Stats().Failed)
	require.Equal(t, 1.0, metric(t, reg, "opsbot_event_ingest_failed_total", ""))
}

func TestLingerWaitsForMore(t *testing.T) {
	l := sqliteLog(t)
	g := newIngester(t, event.IngesterOptions{Log: l, MaxWait: time.Hour, MaxBatch: 3})
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			_, err := g.Ingest(ctx, []event.Event{{Tag: "a", Title: fmt.Sprint(i)}})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait() // returns only because the batch filled up before the hour passed
	require.EqualValues(t, 1, g.Stats().Batches)
	require.EqualValues(t, 3, g.Stats().MaxBatch)
}
