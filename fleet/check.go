package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// State is an instance's health.
type State string

const (
	Up       State = "up"
	Degraded State = "degraded"
	Down     State = "down"
	// Unknown: no health URL, or not checked yet.
	Unknown State = "unknown"
)

// Status is the outcome of checking one instance.
type Status struct {
	Instance string `json:"instance"`
	State    State  `json:"state"`
	// Detail says why it is not up ("HTTP 503", "no answer within 5s",
	// "slow: 2.4s", "status warn").
	Detail  string        `json:"detail,omitempty"`
	Version string        `json:"version,omitempty"`
	Latency time.Duration `json:"-"`
	Code    int           `json:"code,omitempty"`
	// Body is the health answer (at most DefaultMaxBody bytes), for `health`.
	Body []byte    `json:"-"`
	At   time.Time `json:"checked_at"`
}

// OK reports whether the instance answered well enough to take traffic.
func (s Status) OK() bool { return s.State == Up || s.State == Degraded }

// Checker checks instances' health over HTTP.
type Checker struct {
	Client      *http.Client
	Timeout     time.Duration
	SlowAfter   time.Duration // <= 0: never degraded for slowness
	Concurrency int
	// Now is the time stamped on statuses (the bot's clock).
	Now func() time.Time
}

func (c *Checker) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return http.DefaultClient
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Check checks one instance within the checker's timeout: its health URL
// and, at the same time, its version URL.
func (c *Checker) Check(ctx context.Context, in Instance) Status {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	return c.check(ctx, in)
}

// check checks one instance until ctx ends.
func (c *Checker) check(ctx context.Context, in Instance) Status {
	st := Status{Instance: in.Name, State: Unknown, At: c.now()}
	if in.Health == "" {
		st.Detail = "no health URL"
		if in.Version != "" {
			st.Version, _ = c.version(ctx, in)
		}
		return st
	}
	var wg sync.WaitGroup
	var version string
	if in.Version != "" {
		wg.Go(func() { version, _ = c.version(ctx, in) })
	}
	start := time.Now()
	code, body, err := c.get(ctx, in, in.Health)
	st.Latency = time.Since(start)
	st.Code, st.Body = code, body
	wg.Wait()
	switch {
	case err != nil:
		st.State, st.Detail = Down, c.errText(ctx, err)
	case code/100 != 2:
		st.State, st.Detail = Down, fmt.Sprintf("HTTP %d", code)
		if h := Summarise(body); h.Status != "" {
			st.Detail += ", status " + h.Status
		}
	default:
		h := Summarise(body)
		st.State = h.State()
		if st.State != Up {
			st.Detail = "status " + h.Status
		}
		if version == "" {
			version = h.Version
		}
		if st.State == Up && c.SlowAfter > 0 && st.Latency > c.SlowAfter {
			st.State, st.Detail = Degraded, "slow: "+roundDuration(st.Latency).String()
		}
	}
	st.Version = version
	return st
}

func (c *Checker) errText(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		if c.Timeout > 0 {
			return "no answer within " + c.Timeout.String()
		}
		return "no answer in time"
	}
	msg := unwrapURLError(err).Error()
	if strings.Contains(msg, "connection refused") {
		return "connection refused"
	}
	return msg
}

// version reads a version URL: its JSON "version" field, or its body.
func (c *Checker) version(ctx context.Context, in Instance) (string, error) {
	code, body, err := c.get(ctx, in, in.Version)
	if err != nil {
		return "", err
	}
	if code/100 != 2 {
		return "", fmt.Errorf("HTTP %d", code)
	}
	if v := Summarise(body).Version; v != "" {
		return v, nil
	}
	v := strings.TrimSpace(string(body))
	if i := strings.IndexByte(v, '\n'); i >= 0 {
		v = v[:i]
	}
	if len(v) > 80 {
		v = v[:80]
	}
	return v, nil
}

func (c *Checker) get(ctx context.Context, in Instance, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json, text/plain;q=0.9, */*;q=0.5")
	for k, v := range in.Headers {
		req.Header.Set(k, v.Reveal())
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, DefaultMaxBody))
	if err != nil {
		return resp.StatusCode, body, err
	}
	return resp.StatusCode, body, nil
}

// CheckAll checks instances concurrently (at most Concurrency at once) and
// returns their statuses in the same order, within one Timeout in total:
// an instance whose check has not finished, or not even started, when the
// timeout passes is reported down with "no answer within …".
func (c *Checker) CheckAll(ctx context.Context, ins []Instance) []Status {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	n := c.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	out := make([]Status, len(ins))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				out[i] = c.check(ctx, in)
			case <-ctx.Done():
				out[i] = Status{Instance: in.Name, State: Down, Detail: c.errText(ctx, ctx.Err()), At: c.now()}
				if in.Health == "" {
					out[i].State, out[i].Detail = Unknown, "no health URL"
				}
			}
		})
	}
	wg.Wait()
	return out
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Microsecond)
}
