package web

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsbot/opsbot/store"
)

type loginData struct {
	CSRF, Next, User string
}

// dummyHash makes a login for an unknown user cost as much as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("opsbot-no-such-user"), bcrypt.DefaultCost)
	return h
})

func (m *Module) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	m.loginForm(w, r, http.StatusOK, "", "")
}

func (m *Module) loginForm(w http.ResponseWriter, r *http.Request, code int, user, msg string) {
	tok := randomToken()
	http.SetCookie(w, m.cookie(loginCSRF, tok, time.Hour))
	w.Header().Set("Cache-Control", "no-store")
	m.pages.render(w, code, "login", view{Title: "Log in", Error: msg, Data: loginData{CSRF: tok, Next: safeNext(r.FormValue("next")), User: user}})
}

// safeNext keeps a local path to return to after the login.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return "/"
	}
	return s
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (m *Module) handleLogin(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCSRF)
	form := r.PostFormValue(csrfField)
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token; reload the login page"})
		return
	}
	name := strings.TrimSpace(r.PostFormValue("user"))
	pw := r.PostFormValue("password")
	ctx := r.Context()
	subjects := []string{"ip:" + clientIP(r), "user:" + strings.ToLower(name)}
	limited, err := m.limited(ctx, subjects...)
	if err != nil {
		m.log.Error("login rate check failed", "err", err)
		http.Error(w, "login failed", http.StatusInternalServerError)
		return
	}
	if limited {
		w.Header().Set("Retry-After", itoa(int64(m.cfg.LoginRate.Window/time.Second)))
		m.log.Warn("login rate limited", "user", name, "ip", clientIP(r))
		m.loginForm(w, r, http.StatusTooManyRequests, name, "Too many failed logins; try again later.")
		return
	}
	u, err := m.st.UserByName(ctx, name)
	hash := []byte(u.PasswordHash)
	if err != nil || u.PasswordHash == "" {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.Error("login user lookup failed", "err", err)
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		hash = dummyHash()
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pw)) != nil || u.PasswordHash == "" {
		if err := m.recordFailure(ctx, subjects...); err != nil {
			m.log.Error("record login failure", "err", err)
		}
		m.log.Info("login failed", "user", name, "ip", clientIP(r))
		m.loginForm(w, r, http.StatusUnauthorized, name, "Wrong user name or password.")
		return
	}
	if err := m.linkWeb(r, u); err != nil {
		m.log.Error("link web identity", "user", u.Name, "err", err)
		http.Error(w, "login failed", http.StatusInternalServerError)
		return
	}
	tok, err := m.newSession(ctx, u)
	if err != nil {
		m.log.Error("create session", "err", err)
		http.Error(w, "login failed", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, m.cookie(sessionCookie, tok, m.cfg.SessionTTL))
	http.SetCookie(w, m.cookie(loginCSRF, "", -1))
	m.log.Info("login", "user", u.Name, "ip", clientIP(r))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// linkWeb makes web:NAME an identity of the user, so the console runs
// commands as that opsbot user.
func (m *Module) linkWeb(r *http.Request, u store.User) error {
	owner, err := m.st.UserByIdentity(r.Context(), Name, u.Name)
	if err == nil && owner.ID == u.ID {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return m.st.LinkIdentity(r.Context(), store.Identity{UserID: u.ID, Adapter: Name, ChatID: u.Name, Name: u.Name})
}

func (m *Module) handleLogout(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	if err := m.endSession(r.Context(), s.Hash); err != nil {
		m.log.Error("end session", "err", err)
	}
	http.SetCookie(w, m.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
