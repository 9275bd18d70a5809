// Package pagerduty is a client of PagerDuty's REST API v2: acknowledge and
// resolve incidents (PUT /incidents/{id}) and read who is on call
// (GET /oncalls). It authenticates with "Authorization: Token token=KEY"
// and names the acting user in the From header, as the API requires for
// incident updates with an account token.
package pagerduty

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/opsbot/opsbot/jsonapi"
)

// DefaultBaseURL is PagerDuty's REST API root.
const DefaultBaseURL = "https://api.pagerduty.com"

// Client calls the PagerDuty REST API.
type Client struct {
	base, token, from string
	http              *http.Client
}

// New returns a client; from is the email of the PagerDuty user the bot
// acts as; base "" is DefaultBaseURL.
func New(base, token, from string, hc *http.Client) *Client {
	if base == "" {
		base = DefaultBaseURL
	}
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, from: from, http: hc}
}

// APIError is a non-2xx answer.
type APIError struct {
	Status  int
	Code    int
	Message string
	Errors  []string
}

func (e *APIError) Error() string {
	msg := e.Message
	if len(e.Errors) > 0 {
		msg += " (" + strings.Join(e.Errors, "; ") + ")"
	}
	return fmt.Sprintf("pagerduty API: HTTP %d: %s", e.Status, msg)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	api := jsonapi.Client{Name: "pagerduty API", Base: c.base, HTTP: c.http,
		Header: func(h http.Header) {
			h.Set("Authorization", "Token token="+c.token)
			h.Set("Accept", "application/vnd.pagerduty+json;version=2")
			if c.from != "" {
				h.Set("From", c.from)
			}
		},
		Error: func(status int, data []byte) error {
			var e struct {
				Error struct {
					Message string   `json:"message"`
					Code    int      `json:"code"`
					Errors  []string `json:"errors"`
				} `json:"error"`
			}
			_ = json.Unmarshal(data, &e)
			if e.Error.Message == "" {
				e.Error.Message = http.StatusText(status)
			}
			return &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message, Errors: e.Error.Errors}
		}}
	return api.Do(ctx, method, path, q, in, out)
}

// SetStatus moves an incident to "acknowledged" or "resolved".
func (c *Client) SetStatus(ctx context.Context, id, status string) error {
	in := map[string]any{"incident": map[string]string{"type": "incident_reference", "status": status}}
	return c.do(ctx, http.MethodPut, "/incidents/"+url.PathEscape(id), nil, in, nil)
}

// Acknowledge acknowledges an incident (the user is the From header's).
func (c *Client) Acknowledge(ctx context.Context, id, _ string) error {
	return c.SetStatus(ctx, id, "acknowledged")
}

// Close resolves an incident.
func (c *Client) Close(ctx context.Context, id, _ string) error {
	return c.SetStatus(ctx, id, "resolved")
}

type oncalls struct {
	OnCalls []struct {
		User struct {
			ID      string `json:"id"`
			Summary string `json:"summary"`
		} `json:"user"`
		EscalationLevel int        `json:"escalation_level"`
		Start           *time.Time `json:"start"`
		End             *time.Time `json:"end"`
	} `json:"oncalls"`
}

// OnCall returns who is on call on a schedule (by ID) at a time, and who
// takes over when that shift ends.
func (c *Client) OnCall(ctx context.Context, schedule string, at time.Time) (now, next []string, err error) {
	get := func(t time.Time) ([]string, time.Time, error) {
		q := url.Values{"schedule_ids[]": {schedule}, "since": {t.UTC().Format(time.RFC3339)},
			"until": {t.Add(time.Second).UTC().Format(time.RFC3339)}, "earliest": {"true"}}
		var out oncalls
		if err := c.do(ctx, http.MethodGet, "/oncalls", q, nil, &out); err != nil {
			return nil, time.Time{}, err
		}
		var users []string
		var end time.Time
		for _, o := range out.OnCalls {
			users = append(users, o.User.Summary)
			if o.End != nil && (end.IsZero() || o.End.Before(end)) {
				end = *o.End
			}
		}
		return users, end, nil
	}
	if at.IsZero() {
		at = time.Now()
	}
	now, end, err := get(at)
	if err != nil || end.IsZero() {
		return now, nil, err
	}
	next, _, err = get(end)
	return now, next, err
}
