// Package jsonapi is the small JSON-over-HTTPS client the vendor API clients
// share (Opsgenie, PagerDuty, Atlassian Statuspage): a JSON body out, a JSON
// body back, a vendor-shaped error for anything but 2xx. What differs per
// vendor (authentication headers, the error body) is given by the caller.
package jsonapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// MaxBody bounds how much of an answer is read.
const MaxBody = 1 << 20

// Client calls one vendor's API.
type Client struct {
	// Name starts error messages: "opsgenie API".
	Name string
	// Base is the API's base URL, without a trailing slash.
	Base string
	HTTP *http.Client
	// Header sets the request's headers (authentication, Accept…).
	Header func(h http.Header)
	// Error turns a non-2xx answer into an error (the vendor's error body).
	Error func(status int, body []byte) error
}

// Do sends method path?q with in as its JSON body (nil: none) and decodes
// a 2xx answer into out (nil: ignored). Transport errors name the method
// and path, never the full URL or the headers (which hold the credentials).
func (c Client) Do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: %s %s: encode: %w", c.Name, method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.Base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", c.Name, method, path, err)
	}
	if c.Header != nil {
		c.Header(req.Header)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %s %s: %w", c.Name, method, path, ue.Err)
		}
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if resp.StatusCode/100 != 2 {
		if c.Error != nil {
			return c.Error(resp.StatusCode, data)
		}
		return fmt.Errorf("%s: %s %s: HTTP %d", c.Name, method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s: %s %s: decode: %w", c.Name, method, path, err)
		}
	}
	return nil
}
