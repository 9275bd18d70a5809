// Package fleettest runs real HTTP servers that play an instance in tests:
// /health, /version and /tasks on loopback, which a test can make healthy,
// unhealthy, slow, hanging or down (the port closed: connection refused).
package fleettest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Mode is how an instance answers its health check.
type Mode int

const (
	// Healthy answers 200 {"status":"pass", …}.
	Healthy Mode = iota
	// Unhealthy answers 503 {"status":"fail", …}.
	Unhealthy
	// Warn answers 200 {"status":"warn", …}.
	Warn
	// Slow answers healthy after the server's Delay.
	Slow
	// Hanging never answers the health check (until the request is cancelled).
	Hanging
)

// Server is one instance.
type Server struct {
	t    testing.TB
	addr string

	mu      sync.Mutex
	srv     *http.Server
	mode    Mode
	delay   time.Duration
	version string
	tasks   string

	release chan struct{}
	closed  atomic.Bool
	hits    atomic.Int64
}

// Start starts an instance server answering healthy, version "1.0.0", no tasks.
func Start(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fleettest: listen: %v", err)
	}
	s := &Server{t: t, addr: l.Addr().String(), version: "1.0.0", tasks: "[]", release: make(chan struct{})}
	s.serve(l)
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(l net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		v := s.version
		s.mu.Unlock()
		fmt.Fprintln(w, v)
	})
	mux.HandleFunc("GET /tasks", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		body := s.tasks
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Logf("fleettest: serve: %v", err)
		}
	}()
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	mode, delay, version := s.mode, s.delay, s.version
	s.mu.Unlock()
	switch mode {
	case Hanging:
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		return
	case Slow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/health+json")
	switch mode {
	case Unhealthy:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"status":"fail","releaseId":%q,"checks":{"postgres:connections":[{"status":"fail","output":"connection refused"}]}}`, version)
	case Warn:
		fmt.Fprintf(w, `{"status":"warn","releaseId":%q,"checks":{"disk:utilization":[{"status":"warn","observedValue":93,"observedUnit":"percent"}]}}`, version)
	default:
		fmt.Fprintf(w, `{"status":"pass","releaseId":%q,"checks":{"postgres:connections":[{"status":"pass","observedValue":12}],"uptime":[{"status":"pass","observedValue":3600,"observedUnit":"s"}]}}`, version)
	}
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.addr }

// Health, Version and Tasks are the instance's endpoint URLs.
func (s *Server) Health() string  { return s.URL() + "/health" }
func (s *Server) Version() string { return s.URL() + "/version" }
func (s *Server) Tasks() string   { return s.URL() + "/tasks" }

// Set makes the health check answer in mode; Slow waits delay first.
func (s *Server) Set(mode Mode, delay ...time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = mode
	if len(delay) > 0 {
		s.delay = delay[0]
	}
}

// SetVersion changes the version the instance reports.
func (s *Server) SetVersion(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// SetTasks changes the body of /tasks.
func (s *Server) SetTasks(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks = body
}

// Hits is how many health checks the server has received.
func (s *Server) Hits() int64 { return s.hits.Load() }

// Stop takes the instance down: its port is closed (connection refused).
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart brings a stopped instance back on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the port may linger for a moment after Close
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("fleettest: listen again on %s: %v", s.addr, err)
	}
	s.serve(l)
}

// Close stops the server and releases hanging requests.
func (s *Server) Close() {
	if s.closed.CompareAndSwap(false, true) {
		close(s.release)
	}
	s.Stop()
}
