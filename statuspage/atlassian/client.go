// Package atlassian mirrors the built-in status page to Atlassian
// Statuspage through its REST API (v1, "Manage" API): component states and
// incidents with their updates. Authentication is the page's API key in
// "Authorization: OAuth KEY".
package atlassian

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/statuspage"

	"github.com/opsbot/opsbot/jsonapi"
)

// DefaultBaseURL is the public API's root.
const DefaultBaseURL = "https://api.statuspage.io/v1"

// Client calls the Statuspage API for one page.
type Client struct {
	base   string
	page   string
	key    string
	http   *http.Client
	mu     sync.Mutex
	byName map[string]string // component name (lower case) → ID
}

// New returns a client for a page; base "" is DefaultBaseURL.
func New(base, pageID, apiKey string, hc *http.Client) *Client {
	if base == "" {
		base = DefaultBaseURL
	}
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), page: pageID, key: apiKey, http: hc}
}

// Component is a Statuspage component (the fields opsbot uses).
type Component struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Group  bool   `json:"group"`
}

// Incident is a Statuspage incident (the fields opsbot uses).
type Incident struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Shortlink string `json:"shortlink"`
	Updates   []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Body   string `json:"body"`
	} `json:"incident_updates"`
}

// APIError is a non-2xx answer.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("statuspage API: HTTP %d: %s", e.Status, e.Msg)
}

// Temporary reports whether retrying later may succeed (rate limits, 5xx).
func (e *APIError) Temporary() bool { return e.Status == 420 || e.Status == 429 || e.Status >= 500 }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	api := jsonapi.Client{Name: "statuspage API", Base: c.base + "/pages/" + url.PathEscape(c.page), HTTP: c.http,
		Header: func(h http.Header) {
			h.Set("Authorization", "OAuth "+c.key)
			h.Set("Accept", "application/json")
		},
		Error: func(status int, data []byte) error {
			var e struct {
				Error any `json:"error"`
			}
			msg := strings.TrimSpace(string(data))
			if json.Unmarshal(data, &e) == nil && e.Error != nil {
				msg = fmt.Sprint(e.Error)
			}
			if len(msg) > 200 {
				msg = msg[:200]
			}
			return &APIError{Status: status, Msg: msg}
		}}
	return api.Do(ctx, method, path, nil, in, out)
}

// Components lists the page's components.
func (c *Client) Components(ctx context.Context) ([]Component, error) {
	var out []Component
	err := c.do(ctx, http.MethodGet, "/components", nil, &out)
	return out, err
}

// SetComponentStatus changes a component's status.
func (c *Client) SetComponentStatus(ctx context.Context, id, status string) error {
	return c.do(ctx, http.MethodPatch, "/components/"+url.PathEscape(id),
		map[string]any{"component": map[string]string{"status": status}}, nil)
}

// CreateIncident opens an incident; components maps component IDs to the
// status they take with it.
func (c *Client) CreateIncident(ctx context.Context, name, status, body string, components map[string]string) (Incident, error) {
	ids := make([]string, 0, len(components))
	for id := range components {
		ids = append(ids, id)
	}
	in := map[string]any{"incident": map[string]any{
		"name": name, "status": status, "body": body, "component_ids": ids, "components": components,
		"deliver_notifications": true,
	}}
	var out Incident
	err := c.do(ctx, http.MethodPost, "/incidents", in, &out)
	return out, err
}

// UpdateIncident adds an update (status and body) to an incident.
func (c *Client) UpdateIncident(ctx context.Context, id, status, body string) (Incident, error) {
	var out Incident
	err := c.do(ctx, http.MethodPatch, "/incidents/"+url.PathEscape(id),
		map[string]any{"incident": map[string]any{"status": status, "body": body}}, &out)
	return out, err
}

// componentID finds a component's ID: the configured one, else by name
// (the list is fetched once and refreshed on a miss).
func (c *Client) componentID(ctx context.Context, comp statuspage.ComponentConfig) (string, error) {
	if comp.RemoteID != "" {
		return comp.RemoteID, nil
	}
	key := strings.ToLower(comp.Name)
	c.mu.Lock()
	id, ok := c.byName[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	list, err := c.Components(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byName = map[string]string{}
	for _, x := range list {
		if !x.Group {
			c.byName[strings.ToLower(x.Name)] = x.ID
		}
	}
	if id, ok := c.byName[key]; ok {
		return id, nil
	}
	return "", fmt.Errorf("statuspage has no component named %q (set remote_id)", comp.Name)
}

// Mirror adapts the client to statuspage.Mirror.
type Mirror struct {
	C          *Client
	Components []statuspage.ComponentConfig
}

var _ statuspage.Mirror = (*Mirror)(nil)

// SetComponent mirrors a component's state.
func (m *Mirror) SetComponent(ctx context.Context, comp statuspage.ComponentConfig, st statuspage.State) error {
	id, err := m.C.componentID(ctx, comp)
	if err != nil {
		return err
	}
	return m.C.SetComponentStatus(ctx, id, string(st))
}

// OpenIncident mirrors a new incident with the states of its components.
func (m *Mirror) OpenIncident(ctx context.Context, inc statuspage.Incident, body string, states map[string]statuspage.State) (string, error) {
	comps := map[string]string{}
	for _, cc := range m.Components {
		st, ok := states[cc.Name]
		if !ok {
			continue
		}
		id, err := m.C.componentID(ctx, cc)
		if err != nil {
			return "", err
		}
		comps[id] = string(st)
	}
	out, err := m.C.CreateIncident(ctx, inc.Name, string(inc.Status), body, comps)
	if err != nil {
		return "", err
	}
	return out.ID, nil
}

// UpdateIncident mirrors an update.
func (m *Mirror) UpdateIncident(ctx context.Context, remoteID string, inc statuspage.Incident, body string) error {
	_, err := m.C.UpdateIncident(ctx, remoteID, string(inc.Status), body)
	return err
}
