package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"regexp"

	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/web"
)

// sessionRoutes maps every console route that needs a session to a request of it.
var sessionRoutes = map[string]string{
	"GET /{$}": "GET /", "POST /logout": "POST /logout", "GET /rooms": "GET /rooms", "POST /rooms": "POST /rooms",
	"GET /rooms/{room}": "GET /rooms/general", "GET /rooms/{room}/messages": "GET /rooms/general/messages",
	"POST /rooms/{room}/messages": "POST /rooms/general/messages", "POST /rooms/{room}/actions": "POST /rooms/general/actions",
	"GET /rooms/{room}/events": "GET /rooms/general/events", "GET /audit": "GET /audit", "GET /events": "GET /events", "GET /jobs": "GET /jobs",
	"GET /jobs/{id}": "GET /jobs/1", "GET /users": "GET /users", "GET /tokens": "GET /tokens", "POST /tokens": "POST /tokens", "GET /outbox": "GET /outbox", "POST /outbox/retry": "POST /outbox/retry",
	"POST /tokens/revoke": "POST /tokens/revoke", "GET /deployments": "GET /deployments", "GET /deployments/{id}": "GET /deployments/1",
	"GET /deployments/{id}/log": "GET /deployments/1/log",
}

func TestEveryConsoleRouteNeedsASession(t *testing.T) {
	c := newConsole(t, nil)
	anon := c.client(t)
	var public []string
	for pattern, isPublic := range web.RoutePatterns(c.m) {
		if isPublic {
			public = append(public, pattern)
			continue
		}
		_, ok := sessionRoutes[pattern]
		require.True(t, ok, "route %s is checked here", pattern)
	}
	require.ElementsMatch(t, []string{"GET /login", "POST /login", "GET /static/"}, public)
	for pattern, route := range sessionRoutes {
		method, path, _ := strings.Cut(route, " ")
		t.Run(pattern, func(t *testing.T) {
			resp, body := anon.do(method, path, url.Values{"text": {"help"}}, nil)
			isPage := method == "GET" && !strings.HasSuffix(path, "/messages") && !strings.HasSuffix(path, "/log") && (path == "/events" || !strings.HasSuffix(path, "/events"))
			if isPage {
				require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
				require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login?next="), resp.Header.Get("Location"))
			} else {
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, body)
			}
			require.NotContains(t, body, "<article", "nothing of the console leaks")
			require.NotContains(t, body, "csrf-token")
		})
	}
	// A forged or expired session cookie is no session either.
	u, _ := url.Parse(c.srv.URL)
	anon.http.Jar.SetCookies(u, []*http.Cookie{{Name: "opsbot_session", Value: "forged"}})
	resp, _ := anon.do("GET", "/rooms/general/messages", nil, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	for _, public := range []string{"/login", "/static/app.js", "/static/style.css"} {
		resp, _ := anon.do("GET", public, nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, public)
	}
}

func TestSessionCookieAndHeaders(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("secure_cookies=%v", secure), func(t *testing.T) {
			c := newConsole(t, func(cfg *web.Config) { cfg.SecureCookies = secure })
			c.addUser(t, "alice", "correct horse")
			cl := c.client(t)
			resp := cl.login("alice", "correct horse")
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			var session *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == "opsbot_session" {
					session = ck
				}
			}
			require.NotNil(t, session)
			require.True(t, session.HttpOnly)
			require.Equal(t, http.SameSiteStrictMode, session.SameSite)
			require.Equal(t, secure, session.Secure)
			require.Equal(t, int((12 * time.Hour).Seconds()), session.MaxAge)

			resp, body := cl.do("GET", "/rooms/general", nil, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			csp := resp.Header.Get("Content-Security-Policy")
			require.Contains(t, csp, "script-src 'self'")
			require.NotContains(t, csp, "unsafe-inline")
			require.NotContains(t, body, "<script>", "no inline script")
			require.Contains(t, body, `<meta name="viewport"`)
			require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		})
	}
}

func TestCSRF(t *testing.T) {
	c := newConsole(t, nil)
	c.addUser(t, "alice", "correct horse", "admins")
	cl := c.client(t)

	// The login form needs its token too.
	resp, _ := cl.do("POST", "/login", url.Values{"user": {"alice"}, "password": {"correct horse"}}, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	require.Equal(t, http.StatusSeeOther, cl.login("alice", "correct horse").StatusCode)
	for _, path := range []string{"/rooms/general/messages", "/rooms", "/tokens", "/tokens/revoke", "/logout", "/rooms/general/actions"} {
		form := url.Values{"text": {"help"}, "name": {"x"}, "scope": {"admin"}, "id": {"a"}, "value": {"help"}}
		resp, _ := cl.do("POST", path, form, nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s without a CSRF token", path)
		form.Set("csrf", "wrong")
		resp, _ = cl.do("POST", path, form, nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s with a wrong CSRF token", path)
	}
	resp, body := cl.post("/rooms/general/messages", url.Values{"text": {"hello"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	// The form field works as well as the header.
	resp, _ = cl.do("POST", "/rooms/general/messages", url.Values{"text": {"hello again"}, "csrf": {cl.csrf}}, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

func TestLoginRateLimit(t *testing.T) { onEachDatabase(t, testLoginRateLimit) }

func testLoginRateLimit(t *testing.T, db string) {
	c := newConsoleDB(t, db, func(cfg *web.Config) { cfg.LoginRate = web.LoginRate{Failures: 3, Window: time.Minute} })
	c.addUser(t, "alice", "correct horse")
	c.addUser(t, "bob", "battery staple")
	h := c.m.Handler()
	login := func(ip, user, password string) int {
		t.Helper()
		get := httptest.NewRequest("GET", "/login", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, get)
		tok := formCSRF.FindStringSubmatch(rec.Body.String())[1]
		form := url.Values{"csrf": {tok}, "user": {user}, "password": {password}}
		req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = ip + ":40000"
		req.AddCookie(&http.Cookie{Name: "opsbot_login_csrf", Value: tok})
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.NotContains(t, rec.Body.String(), password, "a password is never echoed")
		return rec.Code
	}
	for range 3 {
		require.Equal(t, http.StatusUnauthorized, login("10.0.0.1", "alice", "wrong"))
	}
	require.Equal(t, http.StatusTooManyRequests, login("10.0.0.1", "alice", "correct horse"), "the right password is refused at the limit")
	require.Equal(t, http.StatusTooManyRequests, login("10.0.0.1", "bob", "battery staple"), "per address")
	require.Equal(t, http.StatusTooManyRequests, login("10.0.0.2", "alice", "correct horse"), "per user")
	require.Equal(t, http.StatusSeeOther, login("10.0.0.2", "bob", "battery staple"), "another address and user are not limited")

	c.clk.Advance(time.Minute + time.Second)
	require.Equal(t, http.StatusSeeOther, login("10.0.0.1", "alice", "correct horse"), "the window passed")
	require.Equal(t, http.StatusUnauthorized, login("10.0.0.3", "nobody", "whatever"), "an unknown user fails like a wrong password")
	require.Contains(t, c.logs.String(), "login failed")
	for _, pw := range []string{"correct horse", "battery staple", "whatever"} {
		require.NotContains(t, c.logs.String(), pw, "passwords are never logged")
	}
}

func TestLogoutEndsTheSession(t *testing.T) { onEachDatabase(t, testLogoutEndsTheSession) }

func testLogoutEndsTheSession(t *testing.T, db string) {
	c := newConsoleDB(t, db, nil)
	c.addUser(t, "alice", "correct horse")
	cl := c.client(t)
	cl.login("alice", "correct horse")
	resp, _ := cl.do("GET", "/rooms", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = cl.post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = cl.do("GET", "/rooms", nil, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	// A session also ends when its time is up.
	cl.login("alice", "correct horse")
	c.clk.Advance(12*time.Hour + time.Second)
	resp, _ = cl.do("GET", "/rooms/general/messages", nil, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestMarkdownIsRenderedSafely(t *testing.T) {
	c := newConsole(t, nil)
	c.addUser(t, "alice", "correct horse")
	cl := c.client(t)
	cl.login("alice", "correct horse")
	ctx := context.Background()
	room := chat.Room{Adapter: "web", ID: "general"}
	_, err := c.m.Adapter().Post(ctx, room, chat.Post{
		Text: "*bold* _it_ `<b>code</b>` <script>alert(1)</script> [click](javascript:alert(2)) [ok](https://example.com/?a=1&b=\"x\")\n" +
			"```\n<img src=x onerror=alert(3)>\n```",
		Severity: chat.SeverityCritical,
		Fields:   []chat.Field{{Name: "<i>f</i>", Value: "\"><script>alert(4)</script>"}},
		Links:    []chat.Link{{Title: "evil", URL: "javascript:alert(5)"}, {Title: "docs", URL: "https://example.com/docs"}},
		Image:    &chat.Image{URL: "javascript:alert(6)"},
		Buttons:  []chat.Button{{ID: "b\"1", Label: "<b>Go</b>", Value: "yes \"><script>alert(7)</script>"}},
	})
	require.NoError(t, err)
	_, page := cl.do("GET", "/rooms/general", nil, nil)
	_, hist := cl.do("GET", "/rooms/general/messages", nil, nil)
	var h struct {
		Messages []struct{ HTML, Text string }
	}
	require.NoError(t, json.Unmarshal([]byte(hist), &h))
	require.Len(t, h.Messages, 1)
	for name, out := range map[string]string{"page": page, "history": h.Messages[0].HTML} {
		require.Contains(t, out, "<strong>bold</strong>", name)
		require.Contains(t, out, "<em>it</em>", name)
		require.Contains(t, out, "<code>&lt;b&gt;code&lt;/b&gt;</code>", name)
		require.Contains(t, out, `<a href="https://example.com/?a=1&amp;b=&#34;x&#34;"`, name)
		require.Contains(t, out, "sev-critical", name)
		require.Contains(t, out, `href="https://example.com/docs"`, name)
		lower := strings.ToLower(out)
		require.NotContains(t, strings.ReplaceAll(lower, `<script src="/static/app.js" defer></script>`, ""), "<script", name)
		require.NotContains(t, lower, "<img src=x", name)
		require.NotContains(t, lower, "href=\"javascript", name)
		require.NotContains(t, lower, "src=\"javascript", name)
		require.NotContains(t, lower, "<b>", name)
		require.NotContains(t, lower, "<i>", name)
	}
	require.Contains(t, h.Messages[0].Text, "<script>alert(1)</script>", "shown as text")
}

func TestHistoryIsPaged(t *testing.T) { onEachDatabase(t, testHistoryIsPaged) }

func testHistoryIsPaged(t *testing.T, db string) {
	c := newConsoleDB(t, db, nil)
	c.addUser(t, "alice", "correct horse")
	cl := c.client(t)
	cl.login("alice", "correct horse")
	room := chat.Room{Adapter: "web", ID: "ops"}
	for i := range 7 {
		_, err := c.m.Adapter().Post(context.Background(), room, chat.Post{Text: fmt.Sprintf("post %d", i)})
		require.NoError(t, err)
	}
	type page struct {
		Messages   []struct{ ID int64 }
		NextBefore int64 `json:"next_before"`
	}
	read := func(q string) page {
		resp, body := cl.do("GET", "/rooms/ops/messages"+q, nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		var p page
		require.NoError(t, json.Unmarshal([]byte(body), &p))
		return p
	}
	p := read("?limit=3")
	require.Len(t, p.Messages, 3)
	require.Equal(t, int64(5), p.Messages[0].ID)
	require.Equal(t, int64(7), p.Messages[2].ID)
	p = read(fmt.Sprintf("?limit=3&before=%d", p.NextBefore))
	require.Equal(t, []int64{2, 3, 4}, []int64{p.Messages[0].ID, p.Messages[1].ID, p.Messages[2].ID})
	p = read("?after=5")
	require.Len(t, p.Messages, 2)
	resp, body := cl.do("GET", "/rooms/ops/messages?limit=0", nil, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, "limit")
	resp, _ = cl.do("GET", "/rooms/nope/messages", nil, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestEventsStreamPostsAndEdits(t *testing.T) { onEachDatabase(t, testEventsStreamPostsAndEdits) }

func testEventsStreamPostsAndEdits(t *testing.T, db string) {
	c := newConsoleDB(t, db, nil)
	c.addUser(t, "alice", "correct horse")
	cl := c.client(t)
	cl.login("alice", "correct horse")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.srv.URL+"/rooms/general/events", nil)
	resp, err := cl.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	next := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return v
			}
		}
		t.Fatalf("stream ended before %q", prefix)
		return ""
	}
	next(": connected")
	a := c.m.Adapter()
	ref, err := a.Post(ctx, chat.Room{Adapter: "web", ID: "general"}, chat.Post{Text: "deploying"})
	require.NoError(t, err)
	require.Equal(t, "message", next("event: "))
	require.Equal(t, ref.ID, next("id: "))
	require.Contains(t, next("data: "), "deploying")
	reply, err := a.PostInThread(ctx, ref, chat.Post{Text: "step 1"})
	require.NoError(t, err)
	require.Equal(t, ref.ID, reply.Thread)
	require.Contains(t, next("data: "), `"thread":`+ref.ID)
	require.NoError(t, a.Update(ctx, ref, chat.Post{Text: "deployed"}))
	require.Equal(t, "edit", next("event: "))
	d := next("data: ")
	require.Contains(t, d, "deployed")
	require.Contains(t, d, `"edited":true`)
}

func TestAdminPagesAndTokens(t *testing.T) {
	c := newConsole(t, nil)
	c.addUser(t, "root", "correct horse", "admins")
	c.addUser(t, "bob", "battery staple", "dev")
	bob := c.client(t)
	bob.login("bob", "battery staple")
	for _, p := range []string{"/users", "/tokens", "/outbox"} {
		resp, _ := bob.do("GET", p, nil, nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, p)
	}
	resp, _ := bob.post("/tokens", url.Values{"name": {"ci"}, "scope": {"admin"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	root := c.client(t)
	root.login("root", "correct horse")
	resp, body := root.do("GET", "/users", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "web:root", "a login links the web identity")
	require.Contains(t, body, "bob")

	resp, body = root.post("/tokens", url.Values{"name": {"ci"}, "scope": {"events:write", "audit:read"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	tok := regexp.MustCompile(`<pre class="token">(opsbot_[a-z0-9]+)</pre>`).FindStringSubmatch(body)
	require.NotNil(t, tok, "the new token is shown")
	stored, err := c.st.TokenByHash(context.Background(), httpapi.HashToken(tok[1]))
	require.NoError(t, err)
	require.Equal(t, []string{"events:write", "audit:read"}, stored.Scopes)
	_, body = root.do("GET", "/tokens", nil, nil)
	require.NotContains(t, body, tok[1], "shown once")

	resp, body = root.post("/tokens", url.Values{"name": {"bad name!"}, "scope": {"admin"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, "name:")
	resp, body = root.post("/tokens", url.Values{"name": {"x"}, "scope": {"root"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, "unknown scope root")

	resp, _ = root.post("/tokens/revoke", url.Values{"name": {"ci"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	stored, err = c.st.TokenByHash(context.Background(), httpapi.HashToken(tok[1]))
	require.NoError(t, err)
	require.True(t, stored.Revoked)
}

func TestAuditAndJobsPages(t *testing.T) { onEachDatabase(t, testAuditAndJobsPages) }

func testAuditAndJobsPages(t *testing.T, db string) {
	c := newConsoleDB(t, db, nil)
	c.addUser(t, "alice", "correct horse")
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i, cmd := range []string{"deploy", "ping", "deploy"} {
		_, err := c.st.AppendAudit(ctx, storeEntry(base.Add(time.Duration(i)*time.Hour), cmd))
		require.NoError(t, err)
	}
	cl := c.client(t)
	cl.login("alice", "correct horse")
	_, body := cl.do("GET", "/audit?command=deploy", nil, nil)
	require.Equal(t, 2, strings.Count(body, "<td>deploy</td>"))
	_, body = cl.do("GET", "/audit?from=2026-03-01T10:30&to=2026-03-01T11:30", nil, nil)
	require.Equal(t, 1, strings.Count(body, "<td>ping</td>"))
	require.Equal(t, 0, strings.Count(body, "<td>deploy</td>"))
	resp, body := cl.do("GET", "/audit?from=yesterday", nil, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, "from:")

	j, err := c.st.CreateJob(ctx, storeJob())
	require.NoError(t, err)
	require.NoError(t, c.st.AppendJobLog(ctx, j.ID, []byte("line one\n<b>line two</b>\n")))
	_, body = cl.do("GET", "/jobs?state=failed", nil, nil)
	require.Contains(t, body, "backup")
	_, body = cl.do("GET", "/jobs?state=running", nil, nil)
	require.NotContains(t, body, "backup")
	_, body = cl.do("GET", fmt.Sprintf("/jobs/%d", j.ID), nil, nil)
	require.Contains(t, body, "line one\n&lt;b&gt;line two&lt;/b&gt;")
	resp, _ = cl.do("GET", "/jobs/999", nil, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestClicksAndThreadRepliesReachTheBot(t *testing.T) {
	c := newConsole(t, nil)
	c.addUser(t, "alice", "correct horse")
	cl := c.client(t)
	cl.login("alice", "correct horse")
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan chat.Message, 4)
	ran := make(chan error, 1)
	go func() { ran <- c.m.Adapter().Run(ctx, in) }()
	defer func() { cancel(); require.ErrorIs(t, <-ran, context.Canceled) }()
	receive := func() chat.Message {
		t.Helper()
		select {
		case m := <-in:
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no message reached the bot")
		}
		return chat.Message{}
	}

	root, err := c.m.Adapter().Post(ctx, chat.Room{Adapter: "web", ID: "general"}, chat.Post{Text: "Deploy?",
		Buttons: []chat.Button{{ID: "confirm-4821", Label: "Confirm", Value: "yes 4821"}}})
	require.NoError(t, err)
	resp, body := cl.post("/rooms/general/actions", url.Values{"id": {"confirm-4821"}, "value": {"yes 4821"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	m := receive()
	require.Equal(t, &chat.Action{ID: "confirm-4821", Value: "yes 4821"}, m.Action)
	require.Equal(t, "yes 4821", m.Text)
	require.Equal(t, chat.Identity{Adapter: "web", ID: "alice", Name: "alice"}, m.From)
	require.True(t, m.Direct, "console rooms talk to the bot")

	resp, body = cl.post("/rooms/general/messages", url.Values{"text": {"how is it going"}, "thread": {root.ID}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	m = receive()
	require.Equal(t, root.ID, m.Thread.ID)
	require.Equal(t, chat.Room{Adapter: "web", ID: "general", Name: "#general"}, m.Room)

	for _, bad := range []url.Values{{"text": {""}}, {"text": {"x"}, "thread": {"nope"}}, {"text": {"x"}, "thread": {"999"}}} {
		resp, body = cl.post("/rooms/general/messages", bad)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v: %s", bad, body)
	}
	resp, body = cl.post("/rooms/general/actions", url.Values{"id": {"x"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	require.Contains(t, body, "value")
}
