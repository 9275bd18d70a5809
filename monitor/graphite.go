package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Graphite queries graphite-web's render API with format=json. An instant
// query is the latest non-null value of each series within the window.
type Graphite struct {
	h      *httpSource
	window time.Duration
}

// graphiteSeries is one element of the render API's JSON answer:
// {"target": "…", "datapoints": [[value or null, unix seconds], …]}.
type graphiteSeries struct {
	Target     string        `json:"target"`
	Datapoints [][2]*float64 `json:"datapoints"`
}

func (g *Graphite) render(ctx context.Context, target, from, until string) ([]graphiteSeries, error) {
	q := url.Values{"target": {target}, "from": {from}, "until": {until}, "format": {"json"}}
	body, err := g.h.do(ctx, http.MethodPost, "/render", nil, q.Encode(), "application/x-www-form-urlencoded")
	if err != nil {
		return nil, fmt.Errorf("graphite: %w", err)
	}
	var out []graphiteSeries
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%w: graphite: not a render answer: %s", ErrUnreachable, snippet(body))
	}
	return out, nil
}

// Query returns the latest value of each series of target.
func (g *Graphite) Query(ctx context.Context, target string) ([]Sample, error) {
	ss, err := g.render(ctx, target, "-"+strconv.Itoa(int(g.window.Seconds()))+"s", "now")
	if err != nil {
		return nil, err
	}
	var out []Sample
	for _, s := range ss {
		for i := len(s.Datapoints) - 1; i >= 0; i-- {
			dp := s.Datapoints[i]
			if dp[0] != nil && dp[1] != nil {
				out = append(out, Sample{Labels: map[string]string{"target": s.Target}, Value: *dp[0], Time: time.Unix(int64(*dp[1]), 0).UTC()})
				break
			}
		}
	}
	return out, nil
}

// QueryRange returns the series of target between from and to (Graphite
// chooses the step from its retention).
func (g *Graphite) QueryRange(ctx context.Context, target string, from, to time.Time, _ time.Duration) ([]Series, error) {
	ss, err := g.render(ctx, target, strconv.FormatInt(from.Unix(), 10), strconv.FormatInt(to.Unix(), 10))
	if err != nil {
		return nil, err
	}
	out := make([]Series, 0, len(ss))
	for _, s := range ss {
		sr := Series{Name: s.Target}
		for _, dp := range s.Datapoints {
			if dp[0] != nil && dp[1] != nil {
				sr.Points = append(sr.Points, Point{T: time.Unix(int64(*dp[1]), 0).UTC(), V: *dp[0]})
			}
		}
		out = append(out, sr)
	}
	return out, nil
}
