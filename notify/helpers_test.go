package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// load decodes a `routes:` section the way the app does.
func load(t testing.TB, yaml string) Config {
	t.Helper()
	var c Config
	l := config.NewLoader()
	require.NoError(t, l.Register("routes", &c))
	require.NoError(t, l.Load("opsbot.yaml", []byte("routes:\n"+indent(yaml))))
	return c
}

func indent(s string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// posted is one post the fake poster received.
type posted struct {
	Room chat.Room
	Post chat.Post
}

// fakePoster records posts; fail makes the next posts fail.
type fakePoster struct {
	mu    sync.Mutex
	posts []posted
	fail  error
}

func (f *fakePoster) Post(_ context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return chat.Ref{}, f.fail
	}
	f.posts = append(f.posts, posted{room, p})
	return chat.Ref{Room: room, ID: fmt.Sprint(len(f.posts))}, nil
}

func (f *fakePoster) all() []posted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]posted(nil), f.posts...)
}

func (f *fakePoster) texts() []string {
	var out []string
	for _, p := range f.all() {
		out = append(out, p.Room.String()+" "+p.Post.Text)
	}
	return out
}

// fakeRunner records the actions run.
type fakeRunner struct {
	mu   sync.Mutex
	runs []string
}

func (f *fakeRunner) RunAs(_ context.Context, user string, rooms []chat.Room, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, len(rooms))
	for i, r := range rooms {
		names[i] = r.String()
	}
	f.runs = append(f.runs, user+" in "+strings.Join(names, ",")+": "+text)
	return nil
}

func (f *fakeRunner) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.runs...)
}

// fakeDirectory knows alice (shell ID A1) and the group dba (bob, without a shell identity).
type fakeDirectory struct{}

func (fakeDirectory) Mentions(_ context.Context, adapter string, names []string) (ids, unplaced []string) {
	for _, n := range names {
		switch n {
		case "alice":
			ids = append(ids, "A1")
		case "group:dba":
			unplaced = append(unplaced, "bob")
		default:
			unplaced = append(unplaced, n)
		}
	}
	return ids, unplaced
}

// harness is a dispatcher on a real SQLite store with a fake clock.
type harness struct {
	t      testing.TB
	ctx    context.Context
	clock  *clock.Fake
	poster *fakePoster
	runner *fakeRunner
	d      *Dispatcher
	seq    int64
	dir    string
	opts   Options
}

var start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday

func newHarness(t testing.TB, yaml string) *harness {
	t.Helper()
	return newHarnessOn(t, "", yaml)
}

// newHarnessOn runs on the database url ("" for SQLite in a temp dir).
func newHarnessOn(t testing.TB, url, yaml string) *harness {
	t.Helper()
	tree, err := Compile(load(t, yaml))
	require.NoError(t, err)
	ctx := context.Background()
	dir := t.TempDir()
	if url == "" {
		url = filepath.Join(dir, "opsbot.db")
	}
	st, err := sqlstore.Open(ctx, url, dir)
	require.NoError(t, err)
	require.NoError(t, st.Migrate(ctx))
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, ctx: ctx, clock: clock.NewFake(start), poster: &fakePoster{}, runner: &fakeRunner{}, dir: dir}
	h.opts = Options{Tree: tree, DB: st.DB(), Poster: h.poster, Runner: h.runner, Directory: fakeDirectory{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: h.clock, DefaultAdapter: func() string { return "shell" }}
	h.d = New(h.opts)
	return h
}

// restart builds a new dispatcher on the same database, as after a restart.
func (h *harness) restart() {
	h.d = New(h.opts)
}

// send routes events (as stored, in order).
func (h *harness) send(es ...event.Event) {
	h.t.Helper()
	batch := make([]event.Stored, len(es))
	for i, e := range es {
		h.seq++
		if e.Status == "" {
			e.Status = event.Firing
		}
		if e.Severity == "" {
			e.Severity = event.Warning
		}
		if e.ID == "" {
			e.ID = fmt.Sprintf("ev%d", h.seq)
		}
		batch[i] = event.Stored{Seq: h.seq, Event: e}
	}
	require.NoError(h.t, h.d.Process(h.ctx, batch))
}

// advance moves the clock by d, flushing at each time a group comes due on
// the way, as the running loop does.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	end := h.clock.Now().Add(d)
	for {
		next := h.d.NextFlush()
		if next.IsZero() || next.After(end) {
			break
		}
		if step := next.Sub(h.clock.Now()); step > 0 {
			h.clock.Advance(step)
		}
		require.NoError(h.t, h.d.Flush(h.ctx))
		if !h.d.NextFlush().After(next) {
			break
		}
	}
	h.clock.Advance(end.Sub(h.clock.Now()))
	require.NoError(h.t, h.d.Flush(h.ctx))
}

func alertEv(name, service string, status event.Status) event.Event {
	return event.Event{Tag: "alert." + name, Title: name + " on " + service, Status: status,
		Labels: map[string]string{"alertname": name, "service": service}}
}
