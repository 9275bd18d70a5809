package monitor

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// events collects what a runner emits.
type events struct {
	mu  sync.Mutex
	es  []event.Event
	all []event.Event
}

func (e *events) emit(_ context.Context, ev event.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.es = append(e.es, ev)
	e.all = append(e.all, ev)
	return nil
}

// take returns and forgets the events so far, as "tag fingerprint status".
func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.es {
		out = append(out, fmt.Sprintf("%s %s %s", ev.Tag, ev.Fingerprint, ev.Status))
	}
	e.es = nil
	return out
}

func (e *events) last() event.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.all[len(e.all)-1]
}

// newRunner builds a runner on a fresh store (SQLite in a temp dir, or
// the database at url) with a fake clock.
func newRunner(t *testing.T, url string, cfg Config) (*Runner, *clock.Fake, *events) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, url, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	clk := clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	ev := &events{}
	r, err := NewRunner(cfg, Options{DB: st.DB(), Clock: clk, Emit: ev.emit})
	require.NoError(t, err)
	return r, clk, ev
}

func f(v float64) *float64 { return &v }

func dur(d time.Duration) config.Duration { return config.Duration(d) }

// gauge is an exporter serving one gauge in the Prometheus text format.
type gauge struct {
	mu  sync.Mutex
	val float64
	srv *httptest.Server
}

func newGauge(t *testing.T, v float64) *gauge {
	g := &gauge{val: v}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP test_queue_depth Jobs waiting.\n# TYPE test_queue_depth gauge\ntest_queue_depth{queue=\"mail\"} %g\ntest_queue_depth{queue=\"sms\"} 0\n", g.val)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gauge) set(v float64) {
	g.mu.Lock()
	g.val = v
	g.mu.Unlock()
}
