// Package hookstest is the suite every webhook source runs: valid, forged
// and missing credentials, rejection before parsing, empty and malformed
// bodies, and no secret in errors, responses or logs.
package hookstest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Now is the time the suite's requests are received at.
var Now = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// Sign returns a request carrying valid credentials for body.
type Sign func(body []byte) *hooks.Request

// Suite describes a source for Run.
type Suite struct {
	Name   string // the path name ("github", "generic/x")
	Source hooks.Source
	// Secrets are the configured secrets and tokens: they must appear in
	// no error, response or log line.
	Secrets []string
	// Valid is a payload the source maps to at least one event.
	Valid []byte
	// Sign returns a request with valid credentials for a body.
	Sign Sign
	// Forge returns requests with wrong credentials (a wrong signature, a
	// wrong token…), each named.
	Forge map[string]Sign
	// BodySigned says the credentials cover the body (HMAC), so a changed
	// body must fail verification.
	BodySigned bool
}

// Req builds a request with headers (name, value pairs) for body.
func Req(body []byte, headers ...string) *hooks.Request {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	return &hooks.Request{Header: h, Query: url.Values{}, Body: body, Now: Now}
}

// HexHMAC is the hex HMAC-SHA256 of body under key.
func HexHMAC(key string, parts ...[]byte) string {
	return hex.EncodeToString(hooks.HMACSHA256(key, parts...))
}

// Fixture reads testdata/NAME.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// Recorder is a fake ingester that records what it stores.
type Recorder struct {
	mu     sync.Mutex
	Events []event.Event
	Err    error
}

// Ingest validates events as the real ingester does (event.NormalizeAll),
// records them and gives them IDs.
func (r *Recorder) Ingest(_ context.Context, events ...event.Event) ([]event.Stored, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, r.Err
	}
	if err := event.NormalizeAll(events, Now, true); err != nil {
		return nil, err
	}
	out := make([]event.Stored, len(events))
	for i, e := range events {
		r.Events = append(r.Events, e)
		e.ID = fmt.Sprintf("ev%d", len(r.Events))
		out[i] = event.Stored{Seq: int64(len(r.Events)), Event: e}
	}
	return out, nil
}

// All returns the recorded events.
func (r *Recorder) All() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.Events...)
}

// countingSource counts Parse calls.
type countingSource struct {
	hooks.Source
	mu     sync.Mutex
	parsed int
}

func (c *countingSource) Parse(r *hooks.Request) ([]event.Event, error) {
	c.mu.Lock()
	c.parsed++
	c.mu.Unlock()
	return c.Source.Parse(r)
}

// Server serves one source through the real Handler.
type Server struct {
	Handler *hooks.Handler
	Rec     *Recorder
	Logs    *bytes.Buffer
	mux     *http.ServeMux
	logMu   sync.Mutex
}

// NewServer mounts src under name, with a recorder as the ingester.
func NewServer(name string, src hooks.Source) *Server {
	reg := hooks.NewRegistry()
	if err := reg.Register(name, src); err != nil {
		panic(err)
	}
	s := &Server{Rec: &Recorder{}, Logs: &bytes.Buffer{}, mux: http.NewServeMux()}
	s.Handler = &hooks.Handler{
		Registry: reg, Ingest: s.Rec.Ingest, MaxBytes: 64 << 10, Clock: clock.NewFake(Now),
		Log: slog.New(slog.NewTextHandler(lockedWriter{s}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	s.mux.Handle("POST /hooks/{source}", s.Handler)
	s.mux.Handle("POST /hooks/generic/{name}", s.Handler)
	return s
}

type lockedWriter struct{ s *Server }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.logMu.Lock()
	defer w.s.logMu.Unlock()
	return w.s.Logs.Write(p)
}

// Do sends r to /hooks/NAME and returns the status and decoded response.
func (s *Server) Do(t testing.TB, name string, r *hooks.Request) (int, hooks.Response, string) {
	t.Helper()
	target := "/hooks/" + name
	if len(r.Query) > 0 {
		target += "?" + r.Query.Encode()
	}
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(r.Body))
	for k, v := range r.Header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, req)
	raw := w.Body.String()
	var resp hooks.Response
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp), "response %q", raw)
	return w.Code, resp, raw
}

// Run runs the shared suite.
func Run(t *testing.T, s Suite) {
	t.Helper()
	require.NotEmpty(t, s.Secrets)
	counting := &countingSource{Source: s.Source}
	srv := NewServer(s.Name, counting)
	noSecret := func(t *testing.T, where, text string) {
		t.Helper()
		for _, sec := range s.Secrets {
			require.NotContains(t, text, sec, "%s leaks a secret", where)
		}
	}

	t.Run("valid", func(t *testing.T) {
		code, resp, raw := srv.Do(t, s.Name, s.Sign(s.Valid))
		require.Equal(t, http.StatusAccepted, code, raw)
		require.NotEmpty(t, resp.IDs, raw)
		for _, e := range srv.Rec.All() {
			require.NotEmpty(t, e.Tag)
			require.NotEmpty(t, e.Title)
			require.Contains(t, []event.Severity{event.Info, event.Warning, event.Critical}, e.Severity, "severity of %s", e.Tag)
			require.Contains(t, []event.Status{event.Firing, event.Resolved}, e.Status, "status of %s", e.Tag)
			require.False(t, e.Time.IsZero(), "time of %s", e.Tag)
			noSecret(t, "an event", fmt.Sprint(e))
		}
	})

	t.Run("missing credentials", func(t *testing.T) {
		before := counting.parsedCount()
		r := Req(s.Valid)
		code, resp, raw := srv.Do(t, s.Name, r)
		require.Equal(t, http.StatusUnauthorized, code, raw)
		require.NotEmpty(t, resp.Error)
		require.Equal(t, before, counting.parsedCount(), "parsed before verifying")
		err := s.Source.Verify(r)
		require.ErrorIs(t, err, hooks.ErrUnauthorized)
		noSecret(t, "the error", err.Error())
	})

	for name, forge := range s.Forge {
		t.Run("forged "+name, func(t *testing.T) {
			before := counting.parsedCount()
			r := forge(s.Valid)
			code, _, raw := srv.Do(t, s.Name, r)
			require.Equal(t, http.StatusUnauthorized, code, raw)
			require.Equal(t, before, counting.parsedCount(), "parsed before verifying")
			noSecret(t, "the response", raw)
		})
	}

	t.Run("rejects before parsing", func(t *testing.T) {
		before := counting.parsedCount()
		code, _, raw := srv.Do(t, s.Name, Req([]byte("{not json")))
		require.Equal(t, http.StatusUnauthorized, code, "an unauthenticated bad body must get 401, not 400: %s", raw)
		require.Equal(t, before, counting.parsedCount())
	})

	if s.BodySigned {
		t.Run("tampered body", func(t *testing.T) {
			r := s.Sign(s.Valid)
			r.Body = append(append([]byte(nil), r.Body...), ' ', ' ') // same JSON meaning, other bytes
			code, _, raw := srv.Do(t, s.Name, r)
			require.Equal(t, http.StatusUnauthorized, code, raw)
		})
	}

	t.Run("empty body", func(t *testing.T) {
		code, resp, raw := srv.Do(t, s.Name, s.Sign(nil))
		require.Equal(t, http.StatusBadRequest, code, raw)
		require.Contains(t, resp.Error, "empty body")
		code, _, raw = srv.Do(t, s.Name, Req(nil))
		require.Equal(t, http.StatusUnauthorized, code, raw)
	})

	t.Run("malformed JSON", func(t *testing.T) {
		code, resp, raw := srv.Do(t, s.Name, s.Sign([]byte(`{"truncated": `)))
		require.Equal(t, http.StatusBadRequest, code, raw)
		require.Contains(t, resp.Error, "JSON")
	})

	t.Run("over the size limit", func(t *testing.T) {
		big := append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 70<<10)...)
		big = append(big, '"', '}')
		code, _, raw := srv.Do(t, s.Name, s.Sign(big))
		require.Equal(t, http.StatusRequestEntityTooLarge, code, raw)
	})

	t.Run("unknown source", func(t *testing.T) {
		code, _, raw := srv.Do(t, "no-such-source", s.Sign(s.Valid))
		require.Equal(t, http.StatusNotFound, code, raw)
	})

	t.Run("no secret in logs", func(t *testing.T) {
		srv.logMu.Lock()
		logs := srv.Logs.String()
		srv.logMu.Unlock()
		require.NotEmpty(t, logs)
		noSecret(t, "the log", logs)
		require.True(t, strings.Contains(logs, "webhook rejected"), "rejections are logged")
	})
}

func (c *countingSource) parsedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parsed
}
