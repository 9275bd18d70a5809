package matrix

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
	"time"

	"github.com/opsbot/opsbot/chat"
)

// apiError is the client-server API's error body, with the HTTP status.
type apiError struct {
	Status       int    `json:"-"`
	ErrCode      string `json:"errcode"`
	Message      string `json:"error"`
	RetryAfterMS int64  `json:"retry_after_ms"`
	SoftLogout   bool   `json:"soft_logout"`
}

func (e *apiError) Error() string {
	if e.ErrCode == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.ErrCode, e.Message)
}

// errUnauthorized marks a refused access token.
var errUnauthorized = errors.New("the access token was refused")

// request is one call of the client-server API.
type request struct {
	method string
	path   string // escaped, from the homeserver's base URL
	query  url.Values
	body   any    // JSON, or []byte with contentType
	ctype  string // content type of a []byte body
	auth   bool
}

// call makes r and decodes the answer into out. A refused token is logged
// in again once, when the config has a password.
func (a *Adapter) call(ctx context.Context, r request, out any) error {
	used := a.accessToken()
	err := a.do(ctx, r, out)
	if errors.Is(err, errUnauthorized) && r.auth && a.cfg.Password != "" {
		if lerr := a.relogin(ctx, used); lerr != nil {
			return lerr
		}
		err = a.do(ctx, r, out)
	}
	return err
}

// relogin logs in again after the token used was refused, once for all
// the calls that saw it refused (a second login to the same device would
// revoke the first's token).
func (a *Adapter) relogin(ctx context.Context, used string) error {
	a.loginMu.Lock()
	defer a.loginMu.Unlock()
	if a.accessToken() != used {
		return nil // another call has logged in meanwhile
	}
	a.log.Warn("matrix: the access token was refused; logging in again")
	return a.login(ctx)
}

func (a *Adapter) do(ctx context.Context, r request, out any) error {
	var body io.Reader
	ctype := ""
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body, ctype = bytes.NewReader(b), r.ctype
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("%w: encode: %w", chat.ErrPermanent, err)
		}
		body, ctype = bytes.NewReader(data), "application/json"
	}
	u := a.cfg.Homeserver + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return fmt.Errorf("%w: %w", chat.ErrPermanent, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.auth {
		req.Header.Set("Authorization", "Bearer "+a.accessToken())
	}
	req.Header.Set("User-Agent", "opsbot")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode the answer to %s %s: %w", r.method, r.path, err)
		}
		return nil
	}
	e := &apiError{Status: resp.StatusCode}
	_ = json.Unmarshal(data, e)
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || e.ErrCode == "M_LIMIT_EXCEEDED":
		wait := time.Duration(e.RetryAfterMS) * time.Millisecond
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && wait == 0 {
			wait = time.Duration(secs) * time.Second
		}
		return &chat.RateLimitError{RetryAfter: wait, Err: e}
	case s == http.StatusUnauthorized:
		return fmt.Errorf("%w: %w", errUnauthorized, e)
	case s == http.StatusBadRequest || s == http.StatusForbidden || s == http.StatusNotFound || s == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: %w", chat.ErrPermanent, e)
	}
	return e
}

func (a *Adapter) accessToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.token
}

// login logs in with the password and keeps the new access token.
func (a *Adapter) login(ctx context.Context) error {
	body := map[string]any{
		"type":                        "m.login.password",
		"identifier":                  map[string]string{"type": "m.id.user", "user": a.cfg.UserID},
		"password":                    a.cfg.Password.Reveal(),
		"initial_device_display_name": "opsbot",
	}
	if a.cfg.DeviceID != "" {
		body["device_id"] = a.cfg.DeviceID
	}
	var out struct {
		UserID      string `json:"user_id"`
		AccessToken string `json:"access_token"`
		DeviceID    string `json:"device_id"`
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	err := a.do(ctx, request{method: "POST", path: "/_matrix/client/v3/login", body: body}, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.ErrCode == "M_FORBIDDEN" {
		return fmt.Errorf("matrix: login as %s: wrong user or password: %w", a.cfg.UserID, chat.ErrPermanent)
	}
	if err != nil {
		return fmt.Errorf("matrix: login as %s: %w", a.cfg.UserID, err)
	}
	if out.UserID != a.cfg.UserID {
		return fmt.Errorf("matrix: login as %s gave the account %s: %w", a.cfg.UserID, out.UserID, chat.ErrPermanent)
	}
	a.mu.Lock()
	a.token = out.AccessToken
	a.mu.Unlock()
	a.log.Info("matrix: logged in", "device_id", out.DeviceID)
	return nil
}

// whoami checks the access token names the configured account.
func (a *Adapter) whoami(ctx context.Context) error {
	var out struct {
		UserID string `json:"user_id"`
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	if err := a.call(ctx, request{method: "GET", path: "/_matrix/client/v3/account/whoami", auth: true}, &out); err != nil {
		if errors.Is(err, errUnauthorized) {
			return fmt.Errorf("matrix: the access token was refused and no password is configured: %w", chat.ErrPermanent)
		}
		return fmt.Errorf("matrix: whoami: %w", err)
	}
	if out.UserID != a.cfg.UserID {
		return fmt.Errorf("matrix: the access token is %s's, not %s's: %w", out.UserID, a.cfg.UserID, chat.ErrPermanent)
	}
	return nil
}

// path joins escaped path segments.
func path(segments ...string) string {
	var b bytes.Buffer
	for i, s := range segments {
		if i%2 == 0 {
			b.WriteString(s) // literal
		} else {
			b.WriteString(url.PathEscape(s))
		}
	}
	return b.String()
}
