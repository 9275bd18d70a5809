package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var oneTimePassword = regexp.MustCompile(`log in as "admin" with the one-time password (\S+)`)

// waitLog polls the serve log until it contains want.
func waitLog(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not in the serve output:\n%s", want, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeFirstStartCreatesTheWebAdmin(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "serve.log")
	base := serveLogged(t, dir, nil, logPath)
	out := waitLog(t, logPath, "one-time password")
	m := oneTimePassword.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	password := m[1]
	require.Contains(t, out, "web console: "+base+"/")
	require.Equal(t, 1, strings.Count(out, password), "the password is printed once and never logged")

	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	resp, err := c.Get(base + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/login?next=%2F", resp.Header.Get("Location"))
	code, _ := get(t, base+"/healthz", "")
	require.Equal(t, http.StatusOK, code, "health stays public")

	resp, err = c.Get(base + "/login")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	require.NotNil(t, csrf)
	resp, err = c.PostForm(base+"/login", url.Values{"csrf": {string(csrf[1])}, "user": {"admin"}, "password": {password}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "the printed password logs in")
	resp, err = c.Get(base + "/rooms/general")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	r := opsbot(t, dir, "", "user", "list")
	require.Contains(t, r.stdout, "admin")
	require.Contains(t, r.stdout, "web:admin")

	// A second start finds users and prints no password.
	logPath2 := filepath.Join(dir, "serve2.log")
	serveLogged(t, dir, nil, logPath2)
	out2 := waitLog(t, logPath2, "web console:")
	require.NotContains(t, out2, "one-time password")
}
