package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Elasticsearch counts or aggregates documents through the Elasticsearch
// (or OpenSearch) REST API: `POST /{index}/_count` for a count, `POST
// /{index}/_search` with `size: 0` for an aggregation — the "how many
// errors did Logstash index in the last 5 minutes" monitor.
//
// An expression is either the short form `INDEX: LUCENE QUERY`
// (`logs-*: level:error AND service:api`, counted over the source's window
// on @timestamp), or a JSON object:
//
//	{"index": "logs-*", "query": {…query DSL…}, "within": "5m", "time_field": "@timestamp",
//	 "aggregation": {"avg": {"field": "latency_ms"}}}
//
// with an aggregation, the value is the aggregation's `value`.
type Elasticsearch struct{ h *httpSource }

// ESQuery is the JSON form of an Elasticsearch expression.
type ESQuery struct {
	Index       string          `json:"index"`
	Query       json.RawMessage `json:"query,omitempty"`
	Within      string          `json:"within,omitempty"`
	TimeField   string          `json:"time_field,omitempty"`
	Aggregation json.RawMessage `json:"aggregation,omitempty"`
}

// ParseESQuery reads an expression in either form.
func ParseESQuery(expr string, window time.Duration) (ESQuery, error) {
	expr = strings.TrimSpace(expr)
	var q ESQuery
	if strings.HasPrefix(expr, "{") {
		dec := json.NewDecoder(strings.NewReader(expr))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			return q, fmt.Errorf("%w: elasticsearch: %v", ErrQuery, err)
		}
	} else {
		index, lucene, ok := strings.Cut(expr, ":")
		if !ok || strings.TrimSpace(index) == "" {
			return q, fmt.Errorf("%w: elasticsearch: write `INDEX: QUERY` (logs-*: level:error) or a JSON object", ErrQuery)
		}
		q.Index = strings.TrimSpace(index)
		b, _ := json.Marshal(map[string]any{"query_string": map[string]any{"query": strings.TrimSpace(lucene)}})
		q.Query = b
		q.Within = window.String()
	}
	if q.Index == "" || strings.ContainsAny(q.Index, "/?#") {
		return q, fmt.Errorf("%w: elasticsearch: index %q", ErrQuery, q.Index)
	}
	if q.TimeField == "" {
		q.TimeField = "@timestamp"
	}
	return q, nil
}

// body is the request's JSON: the query, narrowed to the time window.
func (q ESQuery) body() (string, error) {
	var filters []any
	if len(q.Query) > 0 {
		filters = append(filters, json.RawMessage(q.Query))
	}
	if q.Within != "" {
		d, err := time.ParseDuration(q.Within)
		if err != nil {
			return "", fmt.Errorf("%w: elasticsearch: within %q: %v", ErrQuery, q.Within, err)
		}
		filters = append(filters, map[string]any{"range": map[string]any{q.TimeField: map[string]any{"gte": fmt.Sprintf("now-%ds", int(d.Seconds()))}}})
	}
	doc := map[string]any{}
	if len(filters) > 0 {
		doc["query"] = map[string]any{"bool": map[string]any{"filter": filters}}
	}
	if len(q.Aggregation) > 0 {
		doc["size"] = 0
		doc["aggs"] = map[string]any{"value": json.RawMessage(q.Aggregation)}
	}
	b, err := json.Marshal(doc)
	return string(b), err
}

// esError is the API's error answer.
type esError struct {
	Error struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// Query counts (or aggregates) and returns one sample.
func (e *Elasticsearch) Query(ctx context.Context, expr string) ([]Sample, error) {
	q, err := ParseESQuery(expr, e.window())
	if err != nil {
		return nil, err
	}
	body, err := q.body()
	if err != nil {
		return nil, err
	}
	path := "/" + url.PathEscape(q.Index) + "/_count"
	if len(q.Aggregation) > 0 {
		path = "/" + url.PathEscape(q.Index) + "/_search"
	}
	data, err := e.h.do(ctx, http.MethodPost, path, nil, body, "application/json")
	if err != nil {
		var ee esError
		if json.Unmarshal(data, &ee) == nil && ee.Error.Reason != "" {
			return nil, fmt.Errorf("elasticsearch: %w (%s: %s)", err, ee.Error.Type, ee.Error.Reason)
		}
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	if len(q.Aggregation) == 0 {
		var c struct {
			Count *float64 `json:"count"`
		}
		if err := json.Unmarshal(data, &c); err != nil || c.Count == nil {
			return nil, fmt.Errorf("%w: elasticsearch: not a _count answer: %s", ErrUnreachable, snippet(data))
		}
		return []Sample{{Labels: map[string]string{"index": q.Index}, Value: *c.Count, Time: time.Now().UTC()}}, nil
	}
	var s struct {
		Aggregations map[string]struct {
			Value *float64 `json:"value"`
		} `json:"aggregations"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: elasticsearch: not a _search answer: %s", ErrUnreachable, snippet(data))
	}
	v, ok := s.Aggregations["value"]
	if !ok {
		return nil, fmt.Errorf("%w: elasticsearch: the answer has no aggregation", ErrQuery)
	}
	if v.Value == nil { // an aggregation over no documents: no data
		return nil, nil
	}
	return []Sample{{Labels: map[string]string{"index": q.Index}, Value: *v.Value, Time: time.Now().UTC()}}, nil
}

func (e *Elasticsearch) window() time.Duration {
	if w := e.h.cfg.Window.D(); w > 0 {
		return w
	}
	return 5 * time.Minute
}

// QueryRange is not offered: graph Prometheus or Graphite data.
func (e *Elasticsearch) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) ([]Series, error) {
	return nil, fmt.Errorf("%w: graphs are drawn from Prometheus or Graphite sources, not Elasticsearch", ErrQuery)
}
