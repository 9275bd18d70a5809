package monitor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/monitor/promtest"
)

// TestPrometheusMonitors runs monitors against a real Prometheus scraping
// an exporter the test serves. The scrape is real time; the monitors'
// `for` runs on the fake clock.
func TestPrometheusMonitors(t *testing.T) {
	g := newGauge(t, 10)
	prom := promtest.Start(t, strings.TrimPrefix(g.srv.URL, "http://"))
	cfg := Config{
		Sources: map[string]SourceConfig{"prom": {Type: "prometheus", URL: prom.URL, Timeout: dur(2 * time.Second)}},
		Checks: []Check{
			{Name: "mail-queue", Source: "prom", Query: `test_queue_depth{queue="mail"}`, Above: f(5), For: dur(time.Minute), Severity: "critical", Room: "#ops"},
			{Name: "queue-gone", Source: "prom", Query: `test_queue_depth{queue="fax"}`, Absent: dur(2 * time.Minute)},
			{Name: "total", Source: "prom", Query: `sum(test_queue_depth)`, Above: f(100)},
		},
	}
	r, clk, ev := newRunner(t, "", cfg)
	ctx := context.Background()
	prom.WaitFor(t, `test_queue_depth{queue="mail"}`, func(b string) bool { return strings.Contains(b, `"10"`) })

	// Crossed, but not yet for a minute: pending, no event.
	require.NoError(t, r.Check(ctx, "mail-queue"))
	clk.Advance(30 * time.Second)
	require.NoError(t, r.Check(ctx, "mail-queue"))
	require.Empty(t, ev.take())
	st, err := r.db.load(ctx, "mail-queue")
	require.NoError(t, err)
	require.Equal(t, StatePending, st.State)
	require.Equal(t, 10.0, st.Value)

	// A minute on: firing, once.
	clk.Advance(30 * time.Second)
	require.NoError(t, r.Check(ctx, "mail-queue"))
	require.Equal(t, []string{"monitor.firing mail-queue firing"}, ev.take())
	require.NoError(t, r.Check(ctx, "mail-queue"))
	require.Empty(t, ev.take())

	// The value drops: resolved.
	g.set(1)
	prom.WaitFor(t, `test_queue_depth{queue="mail"}`, func(b string) bool { return strings.Contains(b, `"1"`) })
	clk.Advance(30 * time.Second)
	require.NoError(t, r.Check(ctx, "mail-queue"))
	require.Equal(t, []string{"monitor.resolved mail-queue resolved"}, ev.take())

	// No series at all: absence counts from the first check and fires
	// after two minutes.
	require.NoError(t, r.Check(ctx, "queue-gone"))
	clk.Advance(2 * time.Minute)
	require.NoError(t, r.Check(ctx, "queue-gone"))
	require.Equal(t, []string{"monitor.firing queue-gone firing"}, ev.take())
	require.NoError(t, r.Check(ctx, "total"))
	require.Empty(t, ev.take())

	// A rejected query is an error of the monitor, not of the source.
	bad := r.sources["prom"]
	_, err = bad.Query(ctx, "sum(")
	require.ErrorIs(t, err, ErrQuery)
	require.ErrorContains(t, err, "bad_data")

	// The graph's range query sees the scraped values.
	series, err := bad.QueryRange(ctx, `test_queue_depth`, time.Now().Add(-time.Minute), time.Now(), time.Second)
	require.NoError(t, err)
	require.Len(t, series, 2)
	require.Equal(t, `test_queue_depth{instance="`+strings.TrimPrefix(g.srv.URL, "http://")+`",job="test",queue="mail"}`, series[0].Name)
	require.NotEmpty(t, series[0].Points)

	// Prometheus goes away: one "source unreachable", not one alert per
	// monitor; the monitors keep their state, absence included.
	prom.Stop()
	for i := 0; i < 3; i++ {
		clk.Advance(time.Minute)
		for _, name := range []string{"mail-queue", "queue-gone", "total"} {
			require.NoError(t, r.Check(ctx, name))
		}
	}
	require.Equal(t, []string{"monitor.source source/prom firing"}, ev.take())
	statuses, err := r.Statuses(ctx)
	require.NoError(t, err)
	byName := map[string]Status{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	require.Equal(t, StateOK, byName["mail-queue"].State)
	require.Equal(t, StateFiring, byName["queue-gone"].State)
	require.True(t, byName["total"].SourceDown)
	require.Contains(t, byName["total"].Error, "source unreachable")
}
