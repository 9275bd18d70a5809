package schedule

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// recorder keeps every firing run, by schedule.
type recorder struct {
	mu    sync.Mutex
	runs  map[string][]time.Time
	miss  map[string]int64
	missC chan struct{}
}

func newRecorder() *recorder {
	return &recorder{runs: map[string][]time.Time{}, miss: map[string]int64{}, missC: make(chan struct{}, 100)}
}

func (r *recorder) run(_ context.Context, e Entry, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs[e.ID] = append(r.runs[e.ID], at)
	return nil
}

func (r *recorder) missed(_ context.Context, e Entry, n int64, _ time.Time) {
	r.mu.Lock()
	r.miss[e.ID] += n
	r.mu.Unlock()
	r.missC <- struct{}{}
}

func (r *recorder) of(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, t := range r.runs[id] {
		out = append(out, t.UTC().Format("01-02 15:04:05"))
	}
	sort.Strings(out)
	return out
}

type harness struct {
	t     *testing.T
	url   string
	dir   string
	clock *clock.Fake
	rec   *recorder
}

// start runs a scheduler (one "process") on the harness's database until
// the returned stop is called.
func (h *harness) start(grace time.Duration) (*Scheduler, func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlstore.Open(ctx, h.url, h.dir)
	require.NoError(h.t, err)
	require.NoError(h.t, st.Migrate(ctx))
	s := New(Options{DB: st.DB(), Clock: h.clock, Run: h.rec.run, Missed: h.rec.missed, Grace: grace})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(h.t, <-done)
			require.NoError(h.t, st.Close())
		})
	}
	h.t.Cleanup(stop)
	return s, stop
}

func (h *harness) advance(d time.Duration, ss ...*Scheduler) {
	h.t.Helper()
	h.clock.Advance(d)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range ss {
		require.NoError(h.t, s.Settle(ctx))
	}
}

func eachDatabase(t *testing.T, fn func(t *testing.T, h *harness)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, &harness{t: t, dir: dir, clock: clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)), rec: newRecorder()})
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Start(t)
		fn(t, &harness{t: t, url: url, dir: t.TempDir(), clock: clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)), rec: newRecorder()})
	})
}

func TestSchedulerFiresEachKindOnce(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		s, _ := h.start(0)
		berlin := "Europe/Berlin"
		for _, e := range []Entry{
			{ID: "cron", When: `cron "*/2 * * * *"`},
			{ID: "every", When: "every 90s"},
			{ID: "once", When: "in 3m"},
			{ID: "at", When: "at 2026-11-23 09:04", Timezone: berlin},
			{ID: "berlin", When: "every day at 9:05", Timezone: berlin},
		} {
			e.Owner = "test"
			_, err := s.Put(ctx, e)
			require.NoError(t, err)
		}
		for i := 0; i < 6; i++ {
			h.advance(time.Minute, s)
		}
		require.Equal(t, []string{"11-23 08:02:00", "11-23 08:04:00", "11-23 08:06:00"}, h.rec.of("cron"))
		require.Equal(t, []string{"11-23 08:01:30", "11-23 08:03:00", "11-23 08:04:30", "11-23 08:06:00"}, h.rec.of("every"))
		require.Equal(t, []string{"11-23 08:03:00"}, h.rec.of("once"))
		require.Equal(t, []string{"11-23 08:04:00"}, h.rec.of("at"))
		require.Equal(t, []string{"11-23 08:05:00"}, h.rec.of("berlin"))
		// One-offs are gone once they fired; their firings stay recorded.
		_, err := s.Get(ctx, "once")
		require.ErrorIs(t, err, ErrNotFound)
		fs, err := s.Firings(ctx, "once", 10)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		require.Equal(t, "ok", fs[0].Status)
		es, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, es, 3)
		require.Equal(t, time.Date(2026, 11, 23, 8, 8, 0, 0, time.UTC), es[1].NextFire.UTC()) // "cron"
	})
}

func TestSchedulerPauseResumeDelete(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		s, _ := h.start(time.Hour)
		_, err := s.Put(ctx, Entry{ID: "tick", Owner: "test", When: "every 1m"})
		require.NoError(t, err)
		h.advance(time.Minute, s)
		require.NoError(t, s.SetPaused(ctx, "tick", true))
		e, err := s.Get(ctx, "tick")
		require.NoError(t, err)
		require.True(t, e.Paused)
		h.advance(time.Minute, s)
		h.advance(time.Minute, s)
		require.NoError(t, s.SetPaused(ctx, "tick", false))
		h.advance(time.Minute, s)
		// Paused firings neither ran nor were caught up after resuming.
		require.Equal(t, []string{"11-23 08:01:00", "11-23 08:04:00"}, h.rec.of("tick"))
		require.NoError(t, s.Delete(ctx, "tick"))
		h.advance(time.Minute, s)
		require.Len(t, h.rec.of("tick"), 2)
		require.ErrorIs(t, s.Delete(ctx, "tick"), ErrNotFound)
		require.ErrorIs(t, s.SetPaused(ctx, "tick", true), ErrNotFound)
	})
}

// TestSchedulerRestart stops the process in the middle: a firing missed
// within the grace runs once on start, older ones are reported missed,
// and nothing runs twice.
func TestSchedulerRestart(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		s1, stop1 := h.start(90 * time.Second)
		_, err := s1.Put(ctx, Entry{ID: "tick", Owner: "test", When: "every 1m"})
		require.NoError(t, err)
		_, err = s1.Put(ctx, Entry{ID: "late", Owner: "test", When: "in 150s"})
		require.NoError(t, err)
		h.advance(time.Minute, s1)
		h.advance(time.Minute, s1)
		stop1()
		// Down from 08:02 to 08:06:10: tick missed 08:03…08:06, late its 08:02:30.
		h.clock.Advance(4*time.Minute + 10*time.Second)
		s2, _ := h.start(90 * time.Second)
		h.advance(0, s2)
		<-h.rec.missC
		require.Equal(t, []string{"11-23 08:01:00", "11-23 08:02:00", "11-23 08:06:00"}, h.rec.of("tick"))
		require.Nil(t, h.rec.of("late"))
		h.rec.mu.Lock()
		require.Equal(t, int64(3), h.rec.miss["tick"])
		h.rec.mu.Unlock()
		<-h.rec.missC
		h.rec.mu.Lock()
		require.Equal(t, int64(1), h.rec.miss["late"])
		h.rec.mu.Unlock()
		e, err := s2.Get(ctx, "tick")
		require.NoError(t, err)
		require.Equal(t, int64(3), e.Missed)
		_, err = s2.Get(ctx, "late")
		require.ErrorIs(t, err, ErrNotFound)
		h.advance(time.Minute, s2)
		require.Equal(t, []string{"11-23 08:01:00", "11-23 08:02:00", "11-23 08:06:00", "11-23 08:07:00"}, h.rec.of("tick"))

		// A third start reports nothing again and runs nothing twice.
		s3, _ := h.start(90 * time.Second)
		h.advance(0, s2, s3)
		h.advance(time.Minute, s2, s3)
		require.Equal(t, []string{"11-23 08:01:00", "11-23 08:02:00", "11-23 08:06:00", "11-23 08:07:00", "11-23 08:08:00"}, h.rec.of("tick"))
		require.Empty(t, h.rec.missC)
	})
}

// TestSchedulerReplicas runs three schedulers on one database: every
// firing runs once, and a schedule added on one is fired by the others too.
func TestSchedulerReplicas(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		var ss []*Scheduler
		for i := 0; i < 3; i++ {
			s, _ := h.start(time.Minute)
			ss = append(ss, s)
		}
		for i := 0; i < 20; i++ {
			_, err := ss[i%3].Put(ctx, Entry{ID: fmt.Sprintf("s%02d", i), Owner: "test", When: fmt.Sprintf("every %ds", 10+i)})
			require.NoError(t, err)
		}
		for i := 0; i < 12; i++ {
			h.advance(10*time.Second, ss...)
		}
		for i := 0; i < 20; i++ {
			want := int(120 / (10 + i))
			require.Len(t, h.rec.of(fmt.Sprintf("s%02d", i)), want, "s%02d", i)
		}
	})
}

// TestSchedulerDaylightSaving drives the scheduler hour by hour through
// both 2026 changes in Berlin: the 02:30 job runs right after the spring
// gap and once in the repeated autumn hour.
func TestSchedulerDaylightSaving(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start time.Time
		want  []string
	}{
		{"spring", time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), []string{"03-28 01:30:00", "03-29 01:00:00", "03-30 00:30:00"}},
		{"autumn", time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), []string{"10-24 00:30:00", "10-25 00:30:00", "10-26 01:30:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{t: t, dir: t.TempDir(), clock: clock.NewFake(tc.start), rec: newRecorder()}
			s, _ := h.start(0)
			_, err := s.Put(context.Background(), Entry{ID: "nightly", Owner: "test", When: "30 2 * * *", Timezone: "Europe/Berlin"})
			require.NoError(t, err)
			for i := 0; i < 3*24*4; i++ {
				h.advance(15*time.Minute, s)
			}
			require.Equal(t, tc.want, h.rec.of("nightly"))
		})
	}
}

// TestSchedulerPrunes forgets firing records older than Keep.
func TestSchedulerPrunes(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h *harness) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st, err := sqlstore.Open(ctx, h.url, h.dir)
		require.NoError(t, err)
		defer st.Close()
		require.NoError(t, st.Migrate(ctx))
		s := New(Options{DB: st.DB(), Clock: h.clock, Run: h.rec.run, Keep: 150 * time.Second})
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		_, err = s.Put(ctx, Entry{ID: "tick", Owner: "test", When: "every 30s"})
		require.NoError(t, err)
		for i := 0; i < 20; i++ {
			h.advance(30*time.Second, s)
		}
		require.Len(t, h.rec.of("tick"), 20)
		fs, err := s.Firings(ctx, "tick", 100)
		require.NoError(t, err)
		// Pruned once a minute: at most Keep (5 firings) plus a minute (2) remain.
		require.LessOrEqual(t, len(fs), 7)
		require.GreaterOrEqual(t, len(fs), 5)
		cancel()
		require.NoError(t, <-done)
	})
}
