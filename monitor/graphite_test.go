package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/monitor/graphitetest"
)

// TestGraphite runs a monitor and a range query against a real
// carbon-cache + graphite-web.
func TestGraphite(t *testing.T) {
	gr := graphitetest.Start(t)
	now := time.Now().Truncate(graphitetest.Step)
	pts := map[time.Time]float64{}
	for i := 0; i < 6; i++ {
		pts[now.Add(-time.Duration(5-i)*graphitetest.Step)] = float64(10 * i) // 0 … 50
	}
	gr.Send(t, "test.api.errors", pts)
	cfg := Config{
		Sources: map[string]SourceConfig{"graphite": {Type: "graphite", URL: gr.URL, Window: dur(5 * time.Minute)}},
		Checks: []Check{
			{Name: "api-errors", Source: "graphite", Query: "test.api.errors", Above: f(40)},
			{Name: "api-errors-sum", Source: "graphite", Query: "sumSeries(test.api.*)", Below: f(100)},
		},
	}
	r, _, ev := newRunner(t, "", cfg)
	ctx := context.Background()
	src := r.sources["graphite"]
	// Carbon writes asynchronously: poll until the points are there.
	deadline := time.Now().Add(20 * time.Second)
	var samples []Sample
	for {
		var err error
		samples, err = src.Query(ctx, "test.api.errors")
		require.NoError(t, err)
		if len(samples) == 1 && samples[0].Value == 50 {
			break
		}
		require.True(t, time.Now().Before(deadline), "graphite never returned the points: %v", samples)
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, now.UTC(), samples[0].Time)
	require.Equal(t, "test.api.errors", samples[0].Labels["target"])

	series, err := src.QueryRange(ctx, "test.api.errors", now.Add(-time.Minute), now.Add(graphitetest.Step), 0)
	require.NoError(t, err)
	require.Len(t, series, 1)
	var vals []float64
	for _, p := range series[0].Points {
		vals = append(vals, p.V)
	}
	require.Equal(t, []float64{0, 10, 20, 30, 40, 50}, vals)

	require.NoError(t, r.Check(ctx, "api-errors"))
	require.NoError(t, r.Check(ctx, "api-errors-sum"))
	require.Equal(t, []string{"monitor.firing api-errors firing", "monitor.firing api-errors-sum firing"}, ev.take())

	// Stopped, it is unreachable (not a rejected query).
	gr.Stop()
	_, err = src.Query(ctx, "test.api.errors")
	require.ErrorIs(t, err, ErrUnreachable)
}
