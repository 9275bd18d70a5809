package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Prometheus queries the Prometheus HTTP API (/api/v1/query and
// /api/v1/query_range). An instant query is evaluated at the server's
// current time.
type Prometheus struct{ h *httpSource }

// promResponse is the API's envelope.
type promResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

type promData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

func (p *Prometheus) call(ctx context.Context, path string, q url.Values) (promData, error) {
	var d promData
	body, err := p.h.do(ctx, http.MethodPost, path, nil, q.Encode(), "application/x-www-form-urlencoded")
	var env promResponse
	if jerr := json.Unmarshal(body, &env); jerr == nil && env.Status == "error" {
		return d, fmt.Errorf("%w: prometheus: %s: %s", ErrQuery, env.ErrorType, env.Error)
	}
	if err != nil {
		return d, fmt.Errorf("prometheus: %w", err)
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Status != "success" {
		return d, fmt.Errorf("%w: prometheus: not an API answer: %s", ErrUnreachable, snippet(body))
	}
	if err := json.Unmarshal(env.Data, &d); err != nil {
		return d, fmt.Errorf("%w: prometheus: data: %v", ErrUnreachable, err)
	}
	return d, nil
}

// Query runs an instant query.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]Sample, error) {
	d, err := p.call(ctx, "/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	switch d.ResultType {
	case "scalar", "string":
		var v []any
		if err := json.Unmarshal(d.Result, &v); err != nil {
			return nil, fmt.Errorf("prometheus: scalar: %w", err)
		}
		s, err := promPoint(v)
		if err != nil {
			return nil, err
		}
		return []Sample{{Value: s.V, Time: s.T}}, nil
	case "vector":
		var rs []promSeries
		if err := json.Unmarshal(d.Result, &rs); err != nil {
			return nil, fmt.Errorf("prometheus: vector: %w", err)
		}
		out := make([]Sample, 0, len(rs))
		for _, r := range rs {
			pt, err := promPoint(r.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, Sample{Labels: r.Metric, Value: pt.V, Time: pt.T})
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: prometheus: an instant query gave a %s; give an expression with a single value per series", ErrQuery, d.ResultType)
}

// QueryRange runs a range query.
func (p *Prometheus) QueryRange(ctx context.Context, expr string, from, to time.Time, step time.Duration) ([]Series, error) {
	q := url.Values{"query": {expr}, "start": {promTime(from)}, "end": {promTime(to)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	d, err := p.call(ctx, "/api/v1/query_range", q)
	if err != nil {
		return nil, err
	}
	if d.ResultType != "matrix" {
		return nil, fmt.Errorf("%w: prometheus: a range query gave a %s", ErrQuery, d.ResultType)
	}
	var rs []promSeries
	if err := json.Unmarshal(d.Result, &rs); err != nil {
		return nil, fmt.Errorf("prometheus: matrix: %w", err)
	}
	out := make([]Series, 0, len(rs))
	for _, r := range rs {
		s := Series{Name: SeriesName(r.Metric)}
		for _, v := range r.Values {
			pt, err := promPoint(v)
			if err != nil {
				return nil, err
			}
			if !math.IsNaN(pt.V) {
				s.Points = append(s.Points, pt)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// promPoint reads [ <unix seconds>, "<value>" ].
func promPoint(v []any) (Point, error) {
	if len(v) != 2 {
		return Point{}, fmt.Errorf("prometheus: a value is not [time, \"value\"]")
	}
	ts, ok := v[0].(float64)
	s, ok2 := v[1].(string)
	if !ok || !ok2 {
		return Point{}, fmt.Errorf("prometheus: a value is not [time, \"value\"]")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Point{}, fmt.Errorf("prometheus: value %q: %w", s, err)
	}
	sec, frac := math.Modf(ts)
	return Point{T: time.Unix(int64(sec), int64(frac*1e9)).UTC(), V: f}, nil
}

// SeriesName writes labels the way Prometheus does: name{k="v",…}.
func SeriesName(labels map[string]string) string {
	name := labels["__name__"]
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	if len(parts) == 0 {
		if name == "" {
			return "{}"
		}
		return name
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}
