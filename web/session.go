package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/opsbot/opsbot/store"
)

// Cookie names. The session cookie holds a random token; the server keeps
// only its SHA-256 (web_sessions.hash) with the user, the CSRF token and the
// expiry. The login form, before a session exists, uses a double-submit
// token: a cookie and a hidden field that must match.
const (
	sessionCookie = "opsbot_session"
	loginCSRF     = "opsbot_login_csrf"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// session is a logged-in user.
type session struct {
	Hash   string
	User   store.User
	Groups []string
	CSRF   string
}

// Admin reports whether the user is in the admins group.
func (s *session) Admin() bool { return slices.Contains(s.Groups, "admins") }

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// newSession stores a session for u and returns its cookie token.
func (m *Module) newSession(ctx context.Context, u store.User) (string, error) {
	tok := randomToken()
	now := m.clk.Now()
	_, err := m.st.DB().ExecContext(ctx, `INSERT INTO web_sessions (hash, user_id, csrf, created, expires) VALUES ($1, $2, $3, $4, $5)`,
		hashToken(tok), u.ID, randomToken(), now.UnixMilli(), now.Add(m.cfg.SessionTTL).UnixMilli())
	if err != nil {
		return "", fmt.Errorf("store session: %w", err)
	}
	// Expired sessions go when someone logs in; there is no other writer.
	if _, err := m.st.DB().ExecContext(ctx, `DELETE FROM web_sessions WHERE expires < $1`, now.UnixMilli()); err != nil {
		m.log.Warn("prune sessions", "err", err)
	}
	return tok, nil
}

var errNoSession = errors.New("no session")

// sessionOf returns the request's valid session.
func (m *Module) sessionOf(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	s := &session{Hash: hashToken(c.Value)}
	var uid, expires int64
	err = m.st.DB().QueryRowContext(r.Context(), `SELECT user_id, csrf, expires FROM web_sessions WHERE hash = $1`, s.Hash).
		Scan(&uid, &s.CSRF, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && expires <= m.clk.Now().UnixMilli()) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	if s.User, err = m.st.UserByID(r.Context(), uid); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errNoSession
		}
		return nil, err
	}
	if s.Groups, err = m.st.GroupsOf(r.Context(), uid); err != nil {
		return nil, err
	}
	return s, nil
}

func (m *Module) endSession(ctx context.Context, hash string) error {
	_, err := m.st.DB().ExecContext(ctx, `DELETE FROM web_sessions WHERE hash = $1`, hash)
	return err
}

func (m *Module) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: m.cfg.SecureCookies}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}

// csrfOK checks a state-changing request's CSRF token (form field or header).
func csrfOK(r *http.Request, want string) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Failed logins are counted per client address and per user name; at the
// limit, logins from that address or for that name are refused (429) until
// the window has passed, right password or not.

func (m *Module) limited(ctx context.Context, subjects ...string) (bool, error) {
	since := m.clk.Now().Add(-m.cfg.LoginRate.Window).UnixMilli()
	for _, s := range subjects {
		var n int
		if err := m.st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM web_login_failures WHERE subject = $1 AND at > $2`, s, since).Scan(&n); err != nil {
			return false, fmt.Errorf("count login failures: %w", err)
		}
		if n >= m.cfg.LoginRate.Failures {
			return true, nil
		}
	}
	return false, nil
}

func (m *Module) recordFailure(ctx context.Context, subjects ...string) error {
	now := m.clk.Now()
	for _, s := range subjects {
		if _, err := m.st.DB().ExecContext(ctx, `INSERT INTO web_login_failures (subject, at) VALUES ($1, $2)`, s, now.UnixMilli()); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
	}
	_, err := m.st.DB().ExecContext(ctx, `DELETE FROM web_login_failures WHERE at <= $1`, now.Add(-m.cfg.LoginRate.Window).UnixMilli())
	return err
}
