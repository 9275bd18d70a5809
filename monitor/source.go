// Package monitor checks metrics in the monitoring tools a team already has
// — Prometheus, Graphite, Elasticsearch/OpenSearch — plus HTTP endpoints
// and heartbeats (an expected event that must keep arriving), evaluates
// conditions on them (a threshold held for a duration, a rate of change,
// the absence of data) and turns state changes into events. When a source
// itself is down, it says so once instead of raising an alert per monitor.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Sample is one value of an instant query.
type Sample struct {
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
	Time   time.Time         `json:"time"`
}

// Point is one value of a series.
type Point struct {
	T time.Time
	V float64
}

// Series is a named line of points.
type Series struct {
	Name   string
	Points []Point
}

// Source answers queries: an instant query for monitors and `query`, a
// range query for `graph`.
type Source interface {
	Query(ctx context.Context, expr string) ([]Sample, error)
	QueryRange(ctx context.Context, expr string, from, to time.Time, step time.Duration) ([]Series, error)
}

// ErrUnreachable marks an error of the source itself (refused, timed out,
// a 5xx) as opposed to a bad query: it is what the guard against false
// "no data" alerts reacts to.
var ErrUnreachable = errors.New("source unreachable")

// ErrQuery marks a query the source rejected.
var ErrQuery = errors.New("query rejected")

// SourceConfig is one entry of `monitors.sources`.
type SourceConfig struct {
	Type     string          `yaml:"type"` // prometheus, graphite, elasticsearch (opensearch is the same API)
	URL      string          `yaml:"url"`
	Timeout  config.Duration `yaml:"timeout"`
	Username string          `yaml:"username"`
	Password config.Secret   `yaml:"password"`
	Bearer   config.Secret   `yaml:"bearer"`
	APIKey   config.Secret   `yaml:"api_key"` // Elasticsearch "ApiKey" authorization
	// Window is how far back Graphite looks for the latest value (default 5m).
	Window config.Duration `yaml:"window"`
}

// SourceTypes are the kinds of query sources.
var SourceTypes = []string{"prometheus", "graphite", "elasticsearch", "opensearch"}

// Validate checks one source.
func (c SourceConfig) Validate() error {
	var errs config.FieldErrors
	switch c.Type {
	case "prometheus", "graphite", "elasticsearch", "opensearch":
	case "":
		errs.Add("type", "is required (%s)", strings.Join(SourceTypes, ", "))
	default:
		errs.Add("type", "%q is not one of %s", c.Type, strings.Join(SourceTypes, ", "))
	}
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("url", "must be an http:// or https:// URL")
	}
	return errs.Err()
}

// NewSource builds a source from its config; client may be nil.
func NewSource(c SourceConfig, client *http.Client) (Source, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{}
	}
	h := &httpSource{base: strings.TrimSuffix(c.URL, "/"), client: client, timeout: c.Timeout.D(), cfg: c}
	if h.timeout <= 0 {
		h.timeout = 10 * time.Second
	}
	switch c.Type {
	case "prometheus":
		return &Prometheus{h: h}, nil
	case "graphite":
		w := c.Window.D()
		if w <= 0 {
			w = 5 * time.Minute
		}
		return &Graphite{h: h, window: w}, nil
	default:
		return &Elasticsearch{h: h}, nil
	}
}

// httpSource is what the HTTP-based sources share: the base URL, auth,
// a timeout, and the sorting of errors into unreachable and rejected.
type httpSource struct {
	base    string
	client  *http.Client
	timeout time.Duration
	cfg     SourceConfig
}

// do sends a request and returns the body of a 2xx answer. Transport
// errors, timeouts and 5xx are ErrUnreachable; other statuses ErrQuery.
func (h *httpSource) do(ctx context.Context, method, path string, q url.Values, body string, ctype string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	u := h.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrQuery, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case h.cfg.APIKey != "":
		req.Header.Set("Authorization", "ApiKey "+h.cfg.APIKey.Reveal())
	case h.cfg.Bearer != "":
		req.Header.Set("Authorization", "Bearer "+h.cfg.Bearer.Reveal())
	case h.cfg.Username != "":
		req.SetBasicAuth(h.cfg.Username, h.cfg.Password.Reveal())
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connection refused") {
			return nil, fmt.Errorf("%w: %s", ErrUnreachable, cleanErr(err, h.base))
		}
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s", ErrUnreachable, cleanErr(err, h.base))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: read answer: %s", ErrUnreachable, cleanErr(err, h.base))
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return data, fmt.Errorf("%w: HTTP %d: %s", ErrUnreachable, resp.StatusCode, snippet(data))
	case resp.StatusCode >= 300:
		return data, fmt.Errorf("%w: HTTP %d: %s", ErrQuery, resp.StatusCode, snippet(data))
	}
	return data, nil
}

// cleanErr drops the URL (which may carry a query with secrets) from a
// transport error, naming the source's base instead.
func cleanErr(err error, base string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("%s %s: %v", ue.Op, redactBase(base), ue.Err)
	}
	return err.Error()
}

func redactBase(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return "the source"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
