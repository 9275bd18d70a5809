package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
	"github.com/opsbot/opsbot/web"
)

// console is a web module on a fresh SQLite store, served by httptest.
type console struct {
	m    *web.Module
	st   store.Store
	clk  *clock.Fake
	srv  *httptest.Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newConsole(t *testing.T, configure func(*web.Config)) *console {
	t.Helper()
	return newConsoleDB(t, "", configure)
}

// newConsoleDB is newConsole on the database at url ("" for SQLite).
func newConsoleDB(t *testing.T, url string, configure func(*web.Config)) *console {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, url, filepath.Join(t.TempDir(), "data"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	return newConsoleOn(t, st, configure)
}

func newConsoleOn(t *testing.T, st store.Store, configure func(*web.Config)) *console {
	t.Helper()
	m := web.New()
	if configure != nil {
		_, target := m.ConfigSection()
		configure(target.(*web.Config))
	}
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	logs := &syncBuffer{}
	require.NoError(t, m.Setup(context.Background(), web.Deps{Store: st, Clock: clk, Logger: slog.New(slog.NewTextHandler(logs, nil))}))
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return &console{m: m, st: st, clk: clk, srv: srv, logs: logs}
}

// addUser creates a user with a password (bcrypt at the minimum cost, for speed).
func (c *console) addUser(t *testing.T, name, password string, groups ...string) store.User {
	t.Helper()
	ctx := context.Background()
	u, err := c.st.CreateUser(ctx, name)
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	require.NoError(t, c.st.SetPasswordHash(ctx, u.ID, string(hash)))
	for _, g := range groups {
		require.NoError(t, c.st.AddToGroup(ctx, u.ID, g))
	}
	return u
}

// client is a browser-like HTTP client: a cookie jar, no redirects followed.
type client struct {
	t    *testing.T
	c    *console
	http *http.Client
	csrf string
}

func (c *console) client(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, c: c, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var (
	formCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	metaCSRF = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)
)

func (cl *client) do(method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	cl.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, cl.c.srv.URL+path, body)
	require.NoError(cl.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := cl.http.Do(req)
	require.NoError(cl.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(cl.t, err)
	return resp, string(b)
}

// login logs in and returns the response of the login POST.
func (cl *client) login(user, password string) *http.Response {
	cl.t.Helper()
	_, page := cl.do("GET", "/login", nil, nil)
	m := formCSRF.FindStringSubmatch(page)
	require.NotNil(cl.t, m, "the login form has a CSRF token")
	resp, _ := cl.do("POST", "/login", url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}, "next": {"/rooms"}}, nil)
	if resp.StatusCode == http.StatusSeeOther {
		_, page := cl.do("GET", "/rooms", nil, nil)
		mm := metaCSRF.FindStringSubmatch(page)
		require.NotNil(cl.t, mm, "a logged-in page carries the CSRF token")
		cl.csrf = mm[1]
	}
	return resp
}

// post sends a state-changing request with the session's CSRF header, as the page's script does.
func (cl *client) post(path string, form url.Values) (*http.Response, string) {
	cl.t.Helper()
	return cl.do("POST", path, form, map[string]string{"X-CSRF-Token": cl.csrf, "Accept": "application/json"})
}

func storeEntry(at time.Time, cmd string) store.AuditEntry {
	return store.AuditEntry{Time: at, Adapter: "web", Room: "web:general", UserName: "alice", Identity: "web:alice",
		Text: cmd + " api", Command: cmd, Decision: "allowed", Outcome: "ok"}
}

func storeJob() store.Job {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	return store.Job{Kind: "script", Command: "backup", UserName: "alice", Room: "web:general", State: "failed",
		Started: at, Finished: at.Add(time.Minute), ExitCode: 2, Error: "exit status 2"}
}

// onEachDatabase runs test on SQLite and on a real PostgreSQL.
func onEachDatabase(t *testing.T, test func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, "") })
	t.Run("postgres", func(t *testing.T) { test(t, pgtest.Start(t)) })
}
