package web

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

type route struct {
	pattern string
	access  access
	handle  http.HandlerFunc
}

// handler is the route's handler behind its access check.
func (m *Module) handler(r route) http.Handler { return m.guard(r.access, r.handle) }

// access is what a route requires.
type access int

const (
	public   access = iota
	page            // a session, else a redirect to /login
	data            // a session, else 401
	mutate          // a session and the CSRF token (else 401 / 403)
	adminPg         // an admin's session (page)
	adminMut        // an admin's session and the CSRF token
)

type ctxKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(ctxKey{}).(*session)
	return s
}

// CSP allows no inline script and nothing from other origins except images
// in posts (https).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func (m *Module) routes() []route {
	static, _ := fs.Sub(staticFS, "static")
	return []route{
		{"GET /{$}", page, m.handleHome},
		{"GET /login", public, m.handleLoginPage},
		{"POST /login", public, m.handleLogin},
		{"POST /logout", mutate, m.handleLogout},
		{"GET /static/", public, http.StripPrefix("/static/", http.FileServerFS(static)).ServeHTTP},
		{"GET /rooms", page, m.handleRooms},
		{"POST /rooms", mutate, m.handleCreateRoom},
		{"GET /rooms/{room}", page, m.handleRoom},
		{"GET /rooms/{room}/messages", data, m.handleHistory},
		{"POST /rooms/{room}/messages", mutate, m.handleSay},
		{"POST /rooms/{room}/actions", mutate, m.handleAction},
		{"GET /rooms/{room}/events", data, m.handleEvents},
		{"GET /audit", page, m.handleAudit},
		{"GET /events", page, m.handleEventLog},
		{"GET /jobs", page, m.handleJobs},
		{"GET /jobs/{id}", page, m.handleJob},
		{"GET /deployments", page, m.handleDeployments},
		{"GET /deployments/{id}", page, m.handleDeployment},
		{"GET /deployments/{id}/log", data, m.handleDeploymentLog},
		{"GET /users", adminPg, m.handleUsers},
		{"GET /tokens", adminPg, m.handleTokens},
		{"GET /outbox", adminPg, m.handleOutbox},
		{"POST /outbox/retry", adminMut, m.handleOutboxRetry},
		{"POST /tokens", adminMut, m.handleCreateToken},
		{"POST /tokens/revoke", adminMut, m.handleRevokeToken},
	}
}

// guard sets the security headers and enforces the route's access.
func (m *Module) guard(a access, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		if a == public {
			h(w, r)
			return
		}
		hd.Set("Cache-Control", "no-store")
		s, err := m.sessionOf(r)
		if err != nil {
			if !errors.Is(err, errNoSession) {
				m.log.Error("session lookup failed", "err", err)
				http.Error(w, "session lookup failed", http.StatusInternalServerError)
				return
			}
			if r.Method == http.MethodGet && (a == page || a == adminPg) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not logged in"})
			return
		}
		if (a == mutate || a == adminMut) && !csrfOK(r, s.CSRF) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token"})
			return
		}
		if (a == adminPg || a == adminMut) && !s.Admin() {
			m.pages.render(w, http.StatusForbidden, "forbidden", view{Title: "Forbidden", Session: s})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (m *Module) handleHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/rooms/"+m.cfg.DefaultRoom, http.StatusSeeOther)
}

// wantsJSON reports whether the client is the page's script (fetch) rather than a form post.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || r.Header.Get(csrfHeader) != ""
}

// fail answers a bad request: JSON for the script, the page otherwise.
func (m *Module) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	m.pages.render(w, code, "error", view{Title: http.StatusText(code), Session: sessionFrom(r.Context()), Error: msg})
}
