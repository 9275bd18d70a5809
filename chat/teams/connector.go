package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// tokenSource gets and caches the bot's access token for the connector
// (OAuth 2.0 client credentials).
type tokenSource struct {
	http     *http.Client
	url      string
	clientID string
	secret   config.Secret
	scope    string
	timeout  time.Duration

	mu      sync.Mutex
	clock   clock.Clock
	token   string
	expires time.Time
}

// get returns a token valid for at least five more minutes.
func (ts *tokenSource) get(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token != "" && ts.clock.Now().Add(5*time.Minute).Before(ts.expires) {
		return ts.token, nil
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {ts.clientID},
		"client_secret": {ts.secret.Reveal()},
		"scope":         {ts.scope},
	}
	ctx, cancel := context.WithTimeout(ctx, ts.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("teams: token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("teams: token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var oe oauthError
		_ = json.Unmarshal(body, &oe)
		err := fmt.Errorf("teams: token: HTTP %d %s", resp.StatusCode, oe.Error)
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized {
			return "", fmt.Errorf("%w: %w (check app_id and app_password)", chat.ErrPermanent, err)
		}
		return "", err
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("teams: token: unreadable answer")
	}
	ts.token, ts.expires = tr.AccessToken, ts.clock.Now().Add(time.Duration(tr.ExpiresIn)*time.Second)
	return ts.token, nil
}

// forget drops the cached token (the connector refused it).
func (ts *tokenSource) forget(token string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token == token {
		ts.token = ""
	}
}

// connectorError is a refusal from the connector.
type connectorError struct {
	Status int
	Code   string
	Msg    string
}

func (e *connectorError) Error() string {
	return fmt.Sprintf("teams: HTTP %d %s: %s", e.Status, e.Code, e.Msg)
}

// send makes a connector request to serviceURL+path with the bot's token,
// decoding the answer into out; a refused token is renewed once.
func (a *Adapter) send(ctx context.Context, method, serviceURL, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("teams: encode: %w", err)
	}
	for attempt := 0; ; attempt++ {
		token, err := a.tokens.get(ctx)
		if err != nil {
			return err
		}
		err = a.sendOnce(ctx, method, strings.TrimRight(serviceURL, "/")+path, token, b, out)
		var ce *connectorError
		if attempt == 0 && errors.As(err, &ce) && ce.Status == http.StatusUnauthorized {
			a.tokens.forget(token)
			continue
		}
		return err
	}
}

func (a *Adapter) sendOnce(ctx context.Context, method, u, token string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("teams: %s: %w", method, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("teams: %s: %w", method, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var er errorResponse
		_ = json.Unmarshal(data, &er)
		ce := &connectorError{Status: resp.StatusCode, Code: er.Error.Code, Msg: er.Error.Message}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			return &chat.RateLimitError{RetryAfter: retryAfter(resp.Header.Get("Retry-After")), Err: ce}
		case resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusUnauthorized:
			return ce // transient, the Teams documentation says to retry 412
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			return fmt.Errorf("%w: %w", chat.ErrPermanent, ce)
		}
		return ce
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("teams: decode answer: %w", err)
		}
	}
	return nil
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}
