// Package atlassiantest is a fake Atlassian Statuspage API (v1) for tests:
// one page, its components and incidents, the OAuth API key check, and the
// answers the published reference documents (401 without a valid key, 404
// for an unknown page or object, 422 for an invalid status).
package atlassiantest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Component is a component on the fake page.
type Component struct {
	ID        string    `json:"id"`
	PageID    string    `json:"page_id"`
	GroupID   *string   `json:"group_id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Group     bool      `json:"group"`
	Position  int       `json:"position"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Update is one incident update.
type Update struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Status     string    `json:"status"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
	DisplayAt  time.Time `json:"display_at"`
}

// Incident is an incident on the fake page.
type Incident struct {
	ID         string     `json:"id"`
	PageID     string     `json:"page_id"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Impact     string     `json:"impact"`
	Shortlink  string     `json:"shortlink"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	Updates    []Update   `json:"incident_updates"`
	Components []string   `json:"-"`
}

// Server is the fake.
type Server struct {
	*httptest.Server
	PageID, APIKey string

	mu         sync.Mutex
	components []*Component
	incidents  []*Incident
	requests   []string
	seq        int
}

var componentStatuses = []string{"operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"}
var incidentStatuses = []string{"investigating", "identified", "monitoring", "resolved", "scheduled", "in_progress", "verifying", "completed"}

// New starts a fake page with components named names; it stops with t.
func New(t testing.TB, pageID, apiKey string, names ...string) *Server {
	s := &Server{PageID: pageID, APIKey: apiKey}
	now := time.Now().UTC()
	for i, n := range names {
		s.components = append(s.components, &Component{ID: s.id("cmp"), PageID: pageID, Name: n, Status: "operational",
			Position: i + 1, CreatedAt: now, UpdatedAt: now})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/pages/{page}/components", s.auth(s.listComponents))
	mux.HandleFunc("PATCH /v1/pages/{page}/components/{id}", s.auth(s.patchComponent))
	mux.HandleFunc("POST /v1/pages/{page}/incidents", s.auth(s.createIncident))
	mux.HandleFunc("PATCH /v1/pages/{page}/incidents/{id}", s.auth(s.patchIncident))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// BaseURL is the API root to give the client.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

func (s *Server) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%010d", prefix, s.seq)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "OAuth "+s.APIKey {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Could not authenticate"})
			return
		}
		if r.PathValue("page") != s.PageID {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "The requested resource could not be found."})
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		h(w, r)
	}
}

func (s *Server) listComponents(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.components)
}

func (s *Server) patchComponent(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Component *struct {
			Status string `json:"status"`
		} `json:"component"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Component == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "component is missing"})
		return
	}
	if !slices.Contains(componentStatuses, in.Component.Status) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string][]string{"error": {"Status is not included in the list"}})
		return
	}
	for _, c := range s.components {
		if c.ID == r.PathValue("id") {
			c.Status, c.UpdatedAt = in.Component.Status, time.Now().UTC()
			writeJSON(w, http.StatusOK, c)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "The requested resource could not be found."})
}

type incidentIn struct {
	Incident *struct {
		Name         string            `json:"name"`
		Status       string            `json:"status"`
		Body         string            `json:"body"`
		ComponentIDs []string          `json:"component_ids"`
		Components   map[string]string `json:"components"`
	} `json:"incident"`
}

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) {
	var in incidentIn
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Incident == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "incident is missing"})
		return
	}
	if strings.TrimSpace(in.Incident.Name) == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string][]string{"error": {"Name can't be blank"}})
		return
	}
	if !slices.Contains(incidentStatuses, in.Incident.Status) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string][]string{"error": {"Status is not included in the list"}})
		return
	}
	now := time.Now().UTC()
	for id, st := range in.Incident.Components {
		found := false
		for _, c := range s.components {
			if c.ID == id {
				c.Status, c.UpdatedAt, found = st, now, true
			}
		}
		if !found {
			writeJSON(w, http.StatusUnprocessableEntity, map[string][]string{"error": {"Component " + id + " not found"}})
			return
		}
	}
	inc := &Incident{ID: s.id("inc"), PageID: s.PageID, Name: in.Incident.Name, Status: in.Incident.Status, Impact: "none",
		CreatedAt: now, UpdatedAt: now, Components: in.Incident.ComponentIDs}
	inc.Shortlink = "https://stspg.io/" + inc.ID
	inc.Updates = []Update{{ID: s.id("upd"), IncidentID: inc.ID, Status: inc.Status, Body: in.Incident.Body, CreatedAt: now, DisplayAt: now}}
	s.incidents = append(s.incidents, inc)
	writeJSON(w, http.StatusCreated, inc)
}

func (s *Server) patchIncident(w http.ResponseWriter, r *http.Request) {
	var in incidentIn
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Incident == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "incident is missing"})
		return
	}
	for _, inc := range s.incidents {
		if inc.ID != r.PathValue("id") {
			continue
		}
		st := in.Incident.Status
		if st == "" {
			st = inc.Status
		}
		if !slices.Contains(incidentStatuses, st) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string][]string{"error": {"Status is not included in the list"}})
			return
		}
		now := time.Now().UTC()
		inc.Status, inc.UpdatedAt = st, now
		if st == "resolved" {
			inc.ResolvedAt = &now
		}
		inc.Updates = append([]Update{{ID: s.id("upd"), IncidentID: inc.ID, Status: st, Body: in.Incident.Body, CreatedAt: now, DisplayAt: now}}, inc.Updates...)
		writeJSON(w, http.StatusOK, inc)
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "The requested resource could not be found."})
}

// ComponentStatus returns the status of the component named name.
func (s *Server) ComponentStatus(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.components {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}

// Incidents returns copies of the page's incidents, oldest first.
func (s *Server) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Incident, len(s.incidents))
	for i, inc := range s.incidents {
		out[i] = *inc
		out[i].Updates = slices.Clone(inc.Updates)
	}
	return out
}

// Requests returns "METHOD /path" of every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}
