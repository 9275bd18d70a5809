// Package webclient starts `opsbot serve` on a fresh data directory and logs
// in to its web console, for the load commands under bench/.
package webclient

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Server is a running `opsbot serve`.
type Server struct {
	URL      string
	Password string // the admin's one-time password
	Cmd      *exec.Cmd
	dir      string
}

var passwordLine = regexp.MustCompile(`one-time password (\S+)`)

// Start runs bin serve on a free port and a fresh data directory and waits
// until it is ready and has printed the admin's password.
func Start(bin string) (*Server, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "opsbot-bench-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(abs, "serve", "--listen", addr, "--data", filepath.Join(dir, "data"))
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + addr, Cmd: cmd, dir: dir}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := passwordLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case s.Password = <-found:
	case <-time.After(15 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("no admin password printed within 15s")
	}
	return s, nil
}

// Stop ends the server and removes its data.
func (s *Server) Stop() {
	_ = s.Cmd.Process.Kill()
	_ = s.Cmd.Wait()
	_ = os.RemoveAll(s.dir)
}

// RSS is the server's resident set size (VmRSS) in KiB.
func (s *Server) RSS() (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

// Session is a logged-in client.
type Session struct {
	HTTP *http.Client
	CSRF string
}

var (
	formCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	metaCSRF = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)
)

// Login logs in as user and returns the session.
func (s *Server) Login(user, password string) (*Session, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	page, err := get(c, s.URL+"/login")
	if err != nil {
		return nil, err
	}
	m := formCSRF.FindStringSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("no CSRF token on the login page")
	}
	resp, err := c.PostForm(s.URL+"/login", url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}, "next": {"/rooms"}})
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mm := metaCSRF.FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || mm == nil {
		return nil, fmt.Errorf("login: %s", resp.Status)
	}
	return &Session{HTTP: c, CSRF: mm[1]}, nil
}

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Post sends a state-changing form with the session's CSRF token.
func (ss *Session) Post(u string, form url.Values) error {
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", ss.CSRF)
	req.Header.Set("Accept", "application/json")
	resp, err := ss.HTTP.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", u, resp.Status)
	}
	return nil
}
