package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// forEachDB runs f on a fresh, migrated SQLite and PostgreSQL store.
func forEachDB(t *testing.T, f func(t *testing.T, st *sqlstore.Store)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url, dir := "", filepath.Join(t.TempDir(), "data")
			if name == "postgres" {
				url, dir = pgtest.Start(t), ""
			}
			st, err := sqlstore.Open(t.Context(), url, dir)
			require.NoError(t, err)
			require.NoError(t, st.Migrate(t.Context()))
			t.Cleanup(func() { _ = st.Close() })
			f(t, st)
		})
	}
}

var t0 = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

// newOutbox returns an outbox over st and a Sender of chats, on clk, with no
// rate limit for the fake chats unless cfg says otherwise, and jitter off
// (each backoff its full length). It is stopped when t ends.
func newOutbox(t *testing.T, st *sqlstore.Store, clk clock.Clock, cfg Config, chats ...chat.Adapter) *Outbox {
	t.Helper()
	if cfg.Limits == nil {
		cfg.Limits = map[string]Limit{"fake": {}, "limited": {}}
	}
	o := New(Options{
		DB: st.DB(), Dialect: st.Dialect(), Sender: chat.NewSender(chats...), Config: cfg, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry(),
		Jitter: func(d time.Duration) time.Duration { return d }, Drain: -1,
	})
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	return o
}

func start(t *testing.T, o *Outbox) {
	t.Helper()
	require.NoError(t, o.Start(t.Context()))
}

// delivered is one post a fake chat accepted.
type delivered struct {
	Room, ID, Thread, Text string
	Edit                   bool
	At                     time.Time
}

// fakeChat is a chat adapter with threads and edits that records what it
// receives, and answers each attempt as its script says (nil: accept).
type fakeChat struct {
	name  string
	clock clock.Clock

	mu       sync.Mutex
	attempts []time.Time
	posts    []delivered
	script   func(attempt int, p chat.Post) error
	block    chan struct{} // when set, every post waits for it to close
	inFlight chan string   // receives the text of a post that blocks
}

func newFakeChat(clk clock.Clock) *fakeChat { return &fakeChat{name: "fake", clock: clk} }

func (f *fakeChat) Name() string { return f.name }

func (f *fakeChat) Run(ctx context.Context, _ chan<- chat.Message) error {
	<-ctx.Done()
	return nil
}

func (f *fakeChat) try(ctx context.Context, p chat.Post) error {
	f.mu.Lock()
	block, inFlight := f.block, f.inFlight
	f.mu.Unlock()
	if block != nil {
		if inFlight != nil {
			inFlight <- p.Text
		}
		<-block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = append(f.attempts, f.clock.Now())
	if f.script == nil {
		return nil
	}
	err := f.script(len(f.attempts), p)
	if errors.Is(err, errHang) {
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		return ctx.Err()
	}
	return err
}

// errHang, from a script, makes the chat hang until the delivery times out.
var errHang = errors.New("hang")

func (f *fakeChat) record(room chat.Room, thread, text string, edit bool, id string) chat.Ref {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id == "" {
		id = strconv.Itoa(len(f.posts) + 1)
	}
	f.posts = append(f.posts, delivered{Room: room.ID, ID: id, Thread: thread, Text: text, Edit: edit, At: f.clock.Now()})
	return chat.Ref{Room: room, ID: id, Thread: thread}
}

func (f *fakeChat) Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	if err := f.try(ctx, p); err != nil {
		return chat.Ref{}, err
	}
	return f.record(room, "", p.Text, false, ""), nil
}

func (f *fakeChat) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	if err := f.try(ctx, p); err != nil {
		return chat.Ref{}, err
	}
	root := parent.Thread
	if root == "" {
		root = parent.ID
	}
	return f.record(parent.Room, root, p.Text, false, ""), nil
}

func (f *fakeChat) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	if err := f.try(ctx, p); err != nil {
		return err
	}
	f.record(ref.Room, ref.Thread, p.Text, true, ref.ID)
	return nil
}

func (f *fakeChat) delivered() []delivered {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivered(nil), f.posts...)
}

func (f *fakeChat) tries() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.attempts...)
}

// inRoom is the texts delivered to room, in order.
func (f *fakeChat) inRoom(room string) []string {
	var out []string
	for _, d := range f.delivered() {
		if d.Room == room {
			out = append(out, d.Text)
		}
	}
	return out
}

// limitedChat is a fakeChat that takes at most max bytes a post.
type limitedChat struct {
	*fakeChat
	max int
}

func (l limitedChat) MaxPostLen() int { return l.max }

// declaringChat is a fakeChat that states its rate limits.
type declaringChat struct {
	*fakeChat
	limits chat.RateLimits
}

func (d declaringChat) RateLimits() chat.RateLimits { return d.limits }

// advanceUntil moves clk by step until cond holds, failing t after 20 s of real time.
func advanceUntil(t *testing.T, clk *clock.Fake, step time.Duration, cond func() bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		if cond() {
			return true
		}
		clk.Advance(step)
		return false
	}, 20*time.Second, 2*time.Millisecond)
}

// waitFor polls cond without moving any clock.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, time.Millisecond)
}

func room(id string) chat.Room { return chat.Room{Adapter: "fake", ID: id, Name: "#" + id} }

func (o *Outbox) count(adapter, result string) int {
	return int(value(nil, o.metrics.posts, map[string]string{"adapter": adapter, "result": result}))
}

// gather calls f for each metric c collects, with its labels, value (a
// counter's or gauge's) and sample count (a histogram's).
func gather(t *testing.T, c prometheus.Collector, f func(labels map[string]string, v float64, samples uint64)) {
	reg := prometheus.NewPedanticRegistry()
	err := reg.Register(c)
	if err == nil {
		defer reg.Unregister(c)
	}
	mfs, gerr := reg.Gather()
	if err != nil || gerr != nil {
		panic(fmt.Sprint("gather metrics: ", err, gerr))
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			f(labels, m.GetCounter().GetValue()+m.GetGauge().GetValue(), m.GetHistogram().GetSampleCount())
		}
	}
}

// value is the value of the metric of c with the given labels (0 if none).
func value(t *testing.T, c prometheus.Collector, want map[string]string) float64 {
	var v float64
	gather(t, c, func(labels map[string]string, x float64, _ uint64) {
		for k, w := range want {
			if labels[k] != w {
				return
			}
		}
		v += x
	})
	return v
}

func text(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }
