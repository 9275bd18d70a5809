package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/redact"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// database is one of the databases the tests run on.
type database struct {
	name string
	// url returns a fresh database's URL and data dir for t.
	url func(t *testing.T) (url, dataDir string)
}

var databases = []database{
	{"sqlite", func(t *testing.T) (string, string) { return "", filepath.Join(t.TempDir(), "data") }},
	{"postgres", func(t *testing.T) (string, string) { return pgtest.Start(t), "" }},
}

// forEachDB runs f on SQLite and on PostgreSQL.
func forEachDB(t *testing.T, f func(t *testing.T, db database)) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			f(t, db)
		})
	}
}

// open opens and migrates a fresh store on db, closed when t ends.
func (db database) open(t *testing.T) *sqlstore.Store {
	t.Helper()
	url, dir := db.url(t)
	return openStore(t, url, dir)
}

// openStore opens and migrates the store at url/dataDir, closed when t ends.
func openStore(t *testing.T, url, dataDir string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), url, dataDir)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// posted is one post the fake poster received.
type posted struct {
	Room   chat.Room
	Parent chat.Ref
	Post   chat.Post
}

// poster records posts and hands out refs.
type poster struct {
	mu    sync.Mutex
	posts []posted
	n     int
	ch    chan struct{}
}

func newPoster() *poster { return &poster{ch: make(chan struct{}, 1)} }

func (p *poster) add(x posted) chat.Ref {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.posts = append(p.posts, x)
	select {
	case p.ch <- struct{}{}:
	default:
	}
	return chat.Ref{Room: x.Room, ID: fmt.Sprintf("p%d", p.n)}
}

func (p *poster) Post(_ context.Context, room chat.Room, post chat.Post) (chat.Ref, error) {
	return p.add(posted{Room: room, Post: post}), nil
}

func (p *poster) PostInThread(_ context.Context, parent chat.Ref, post chat.Post) (chat.Ref, error) {
	ref := p.add(posted{Room: parent.Room, Parent: parent, Post: post})
	ref.Thread = parent.ID
	return ref, nil
}

func (p *poster) all() []posted {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]posted(nil), p.posts...)
}

func (p *poster) texts() string {
	var b strings.Builder
	for _, x := range p.all() {
		b.WriteString(x.Post.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitState waits until job id is in state and returns its record.
func waitState(t *testing.T, st store.Store, id int64, state string) store.Job {
	t.Helper()
	var j store.Job
	waitFor(t, fmt.Sprintf("job %d to be %s", id, state), func() bool {
		var err error
		j, err = st.Job(t.Context(), id)
		require.NoError(t, err)
		return j.State == state
	})
	return j
}

type runnerOpts struct {
	poster   *poster
	reg      *prometheus.Registry
	workers  int
	redactor *redact.Redactor
}

// newRunner returns a started runner on st with kinds, stopped when t ends.
func newRunner(t *testing.T, st store.Store, o runnerOpts, kinds ...jobs.Kind) *jobs.Runner {
	t.Helper()
	if o.poster == nil {
		o.poster = newPoster()
	}
	if o.reg == nil {
		o.reg = prometheus.NewRegistry()
	}
	r := jobs.New(jobs.Options{
		Store: st, Poster: o.poster, Metrics: o.reg, Redactor: o.redactor,
		Logger:       testLogger(t),
		MaxWorkers:   o.workers,
		PollInterval: 100 * time.Millisecond,
	})
	for _, k := range kinds {
		require.NoError(t, r.Register(k))
	}
	require.NoError(t, r.Start(t.Context()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, r.Stop(ctx))
	})
	return r
}

// testLogger logs into a buffer that is shown when t fails.
func testLogger(t *testing.T) *slog.Logger {
	w := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("log:\n" + w.String())
		}
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *logBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
