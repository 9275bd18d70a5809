// Package pagerdutytest is a fake PagerDuty REST API v2 for tests:
// "Token token=" authentication (401 otherwise), the v2 Accept header, the
// From header required on incident updates (400 without it), PUT
// /incidents/{id} with an incident_reference and GET /oncalls.
package pagerdutytest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Incident is an incident on the fake.
type Incident struct {
	ID     string
	Status string // triggered, acknowledged, resolved
	From   []string
}

// Shift is one on-call shift of a schedule.
type Shift struct {
	User       string
	Start, End time.Time
}

// Server is the fake.
type Server struct {
	*httptest.Server
	Token string

	mu        sync.Mutex
	incidents map[string]*Incident
	shifts    map[string][]Shift
	requests  []string
}

// New starts the fake; it stops with t.
func New(t testing.TB, token string) *Server {
	s := &Server{Token: token, incidents: map[string]*Incident{}, shifts: map[string][]Shift{}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /incidents/{id}", s.auth(s.putIncident))
	mux.HandleFunc("GET /oncalls", s.auth(s.oncalls))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// AddIncident creates a triggered incident.
func (s *Server) AddIncident(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incidents[id] = &Incident{ID: id, Status: "triggered"}
}

// SetShifts sets a schedule's shifts.
func (s *Server) SetShifts(schedule string, shifts ...Shift) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shifts[schedule] = shifts
}

// Incident returns a copy of an incident.
func (s *Server) Incident(id string) (Incident, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incidents[id]
	if !ok {
		return Incident{}, false
	}
	c := *inc
	c.From = slices.Clone(inc.From)
	return c, true
}

// Requests returns "METHOD /path?query" of every request.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func pdError(w http.ResponseWriter, status, code int, msg string, errs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "code": code, "errors": errs}})
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		if r.Header.Get("Authorization") != "Token token="+s.Token {
			pdError(w, http.StatusUnauthorized, 2006, "Authentication failed")
			return
		}
		if r.Header.Get("Accept") != "application/vnd.pagerduty+json;version=2" {
			pdError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Accept must be application/vnd.pagerduty+json;version=2")
			return
		}
		h(w, r)
	}
}

func (s *Server) putIncident(w http.ResponseWriter, r *http.Request) {
	from := r.Header.Get("From")
	if from == "" {
		pdError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "You must specify a user's email address in the \"From\" header to perform this action")
		return
	}
	var in struct {
		Incident *struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"incident"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Incident == nil {
		pdError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "incident is required")
		return
	}
	if in.Incident.Type != "incident" && in.Incident.Type != "incident_reference" {
		pdError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Type must be incident or incident_reference")
		return
	}
	if in.Incident.Status != "acknowledged" && in.Incident.Status != "resolved" {
		pdError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Status must be acknowledged or resolved")
		return
	}
	inc, ok := s.incidents[r.PathValue("id")]
	if !ok {
		pdError(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	inc.Status = in.Incident.Status
	inc.From = append(inc.From, from)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"incident": map[string]any{
		"id": inc.ID, "type": "incident", "status": inc.Status, "summary": "[#1] incident " + inc.ID,
		"self": s.URL + "/incidents/" + inc.ID, "html_url": "https://example.pagerduty.com/incidents/" + inc.ID,
	}})
}

func (s *Server) oncalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, err1 := time.Parse(time.RFC3339, q.Get("since"))
	until, err2 := time.Parse(time.RFC3339, q.Get("until"))
	if err1 != nil || err2 != nil || !until.After(since) {
		pdError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "since and until must be ISO 8601 times, since before until")
		return
	}
	out := []map[string]any{}
	for _, sched := range q["schedule_ids[]"] {
		for _, sh := range s.shifts[sched] {
			if sh.Start.Before(until) && sh.End.After(since) {
				out = append(out, map[string]any{
					"escalation_policy": map[string]any{"id": "PEP1", "type": "escalation_policy_reference"},
					"escalation_level":  1,
					"schedule":          map[string]any{"id": sched, "type": "schedule_reference"},
					"user":              map[string]any{"id": "PU" + sh.User, "type": "user_reference", "summary": sh.User},
					"start":             sh.Start.UTC().Format(time.RFC3339), "end": sh.End.UTC().Format(time.RFC3339),
				})
				if q.Get("earliest") == "true" {
					break
				}
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"oncalls": out, "limit": 25, "offset": 0, "more": false, "total": nil})
}
