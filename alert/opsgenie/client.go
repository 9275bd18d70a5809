// Package opsgenie is a client of Opsgenie's Alert API v2 (acknowledge and
// close an alert) and Schedule API v2 (who is on call now and next),
// authenticated with "Authorization: GenieKey KEY".
package opsgenie

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

// DefaultBaseURL is Opsgenie's API root (EU accounts use their own).
const DefaultBaseURL = "https://api.opsgenie.com"

// Client calls the Opsgenie API.
type Client struct {
	base, key, source string
	http              *http.Client
}

// New returns a client; base "" is DefaultBaseURL.
func New(base, apiKey string, hc *http.Client) *Client {
	if base == "" {
		base = DefaultBaseURL
	}
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), key: apiKey, source: "opsbot", http: hc}
}

// APIError is a non-2xx answer; Opsgenie explains in "message".
type APIError struct {
	Status    int
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("opsgenie API: HTTP %d: %s", e.Status, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	api := jsonapi.Client{Name: "opsgenie API", Base: c.base, HTTP: c.http,
		Header: func(h http.Header) { h.Set("Authorization", "GenieKey "+c.key) },
		Error: func(status int, data []byte) error {
			var e struct {
				Message   string `json:"message"`
				RequestID string `json:"requestId"`
			}
			_ = json.Unmarshal(data, &e)
			if e.Message == "" {
				e.Message = http.StatusText(status)
			}
			return &APIError{Status: status, Message: e.Message, RequestID: e.RequestID}
		}}
	return api.Do(ctx, method, path, q, in, out)
}

// action posts an alert action (acknowledge, close) by alert ID. Opsgenie
// answers 202: the request is queued and processed asynchronously.
func (c *Client) action(ctx context.Context, id, action, user, note string) error {
	in := map[string]string{"source": c.source}
	if user != "" {
		in["user"] = user
	}
	if note != "" {
		in["note"] = note
	}
	return c.do(ctx, http.MethodPost, "/v2/alerts/"+url.PathEscape(id)+"/"+action, url.Values{"identifierType": {"id"}}, in, nil)
}

// Acknowledge acknowledges an alert.
func (c *Client) Acknowledge(ctx context.Context, id, user string) error {
	return c.action(ctx, id, "acknowledge", user, "acknowledged in chat by "+user)
}

// Close closes an alert.
func (c *Client) Close(ctx context.Context, id, user string) error {
	return c.action(ctx, id, "close", user, "closed in chat by "+user)
}

// OnCall returns who is on call on a schedule (by name) now, and next.
func (c *Client) OnCall(ctx context.Context, schedule string, at time.Time) (now, next []string, err error) {
	q := url.Values{"scheduleIdentifierType": {"name"}, "flat": {"true"}}
	if !at.IsZero() {
		q.Set("date", at.UTC().Format(time.RFC3339))
	}
	var cur struct {
		Data struct {
			Recipients []string `json:"onCallRecipients"`
		} `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, "/v2/schedules/"+url.PathEscape(schedule)+"/on-calls", q, nil, &cur); err != nil {
		return nil, nil, err
	}
	var nxt struct {
		Data struct {
			Exact []string `json:"exactNextOnCallRecipients"`
			Next  []string `json:"nextOnCallRecipients"`
		} `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, "/v2/schedules/"+url.PathEscape(schedule)+"/next-on-calls", q, nil, &nxt); err != nil {
		return nil, nil, err
	}
	next = nxt.Data.Exact
	if len(next) == 0 {
		next = nxt.Data.Next
	}
	return cur.Data.Recipients, next, nil
}
