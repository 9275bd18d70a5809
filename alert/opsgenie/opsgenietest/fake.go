// Package opsgenietest is a fake Opsgenie API for tests, following the
// published Alert API v2 and Schedule API v2: GenieKey authentication (401
// otherwise), alert actions by id answered 202 with a requestId (404 for an
// unknown alert), and on-call recipients of named schedules.
package opsgenietest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Alert is an alert on the fake.
type Alert struct {
	ID           string
	Status       string // open, closed
	Acknowledged bool
	Notes        []string
	Users        []string
}

// Schedule is who is on call on a named schedule.
type Schedule struct {
	Now, Next []string
}

// Server is the fake.
type Server struct {
	*httptest.Server
	Key string

	mu        sync.Mutex
	alerts    map[string]*Alert
	schedules map[string]Schedule
	requests  []string
	seq       int
}

// New starts the fake; it stops with t.
func New(t testing.TB, key string) *Server {
	s := &Server{Key: key, alerts: map[string]*Alert{}, schedules: map[string]Schedule{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/alerts/{id}/{action}", s.auth(s.action))
	mux.HandleFunc("GET /v2/schedules/{name}/on-calls", s.auth(s.onCalls))
	mux.HandleFunc("GET /v2/schedules/{name}/next-on-calls", s.auth(s.nextOnCalls))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// AddAlert creates an open alert.
func (s *Server) AddAlert(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts[id] = &Alert{ID: id, Status: "open"}
}

// SetSchedule sets a schedule's on-call recipients.
func (s *Server) SetSchedule(name string, sch Schedule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schedules[name] = sch
}

// Alert returns a copy of an alert.
func (s *Server) Alert(id string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[id]
	if !ok {
		return Alert{}, false
	}
	c := *a
	c.Notes, c.Users = slices.Clone(a.Notes), slices.Clone(a.Users)
	return c, true
}

// Requests returns "METHOD /path?query" of every request.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		s.seq++
		if r.Header.Get("Authorization") != "GenieKey "+s.Key {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Could not authenticate", "took": 0.001, "requestId": fmt.Sprintf("req-%d", s.seq)})
			return
		}
		h(w, r)
	}
}

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	if t := r.URL.Query().Get("identifierType"); t != "" && t != "id" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "this fake resolves alerts by id only", "took": 0.001})
		return
	}
	var in struct {
		User, Source, Note string
	}
	if r.ContentLength > 0 {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid json", "took": 0.001})
			return
		}
	}
	a, ok := s.alerts[r.PathValue("id")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Alert with id [" + r.PathValue("id") + "] does not exist", "took": 0.001})
		return
	}
	switch r.PathValue("action") {
	case "acknowledge":
		a.Acknowledged = true
	case "close":
		a.Status = "closed"
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "unknown action", "took": 0.001})
		return
	}
	a.Notes, a.Users = append(a.Notes, in.Note), append(a.Users, in.User)
	writeJSON(w, http.StatusAccepted, map[string]any{"result": "Request will be processed", "took": 0.202, "requestId": fmt.Sprintf("req-%d", s.seq)})
}

func (s *Server) schedule(w http.ResponseWriter, r *http.Request) (Schedule, bool) {
	if r.URL.Query().Get("scheduleIdentifierType") != "name" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "this fake finds schedules by name only", "took": 0.001})
		return Schedule{}, false
	}
	sch, ok := s.schedules[r.PathValue("name")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Schedule with identifier [" + r.PathValue("name") + "] does not exist", "took": 0.001})
	}
	return sch, ok
}

func (s *Server) onCalls(w http.ResponseWriter, r *http.Request) {
	sch, ok := s.schedule(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"_parent": map[string]any{"id": "sch-1", "name": r.PathValue("name"), "enabled": true}, "onCallRecipients": sch.Now},
		"took": 0.1, "requestId": fmt.Sprintf("req-%d", s.seq)})
}

func (s *Server) nextOnCalls(w http.ResponseWriter, r *http.Request) {
	sch, ok := s.schedule(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"_parent":              map[string]any{"id": "sch-1", "name": r.PathValue("name"), "enabled": true},
		"nextOnCallRecipients": sch.Next, "exactNextOnCallRecipients": sch.Next},
		"took": 0.1, "requestId": fmt.Sprintf("req-%d", s.seq)})
}
