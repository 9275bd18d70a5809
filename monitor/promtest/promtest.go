// Package promtest starts a real Prometheus (the installed `prometheus`
// binary) for tests: on a free loopback port, with a temp directory,
// scraping the targets given every second, stopped when the test ends.
// Without the binary the test is skipped, or fails when $CI is true.
package promtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is the Prometheus server's command.
const Binary = "prometheus"

// Server is a running Prometheus.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
	log  *os.File
}

// Available reports why Prometheus can't run here ("" when it can).
func Available() string {
	if _, err := exec.LookPath(Binary); err != nil {
		return "the prometheus binary is not installed (Debian package prometheus; scripts/test-deps.sh installs it)"
	}
	return ""
}

// Unavailable skips t, or fails it under CI=true.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s; $CI is true, so this test must run", why)
	}
	t.Skip(why)
}

// FreePort returns a free loopback port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs Prometheus scraping targets ("127.0.0.1:PORT") every second.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	if why := Available(); why != "" {
		Unavailable(t, why)
	}
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: test
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--query.lookback-delta=5s", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("promtest: start prometheus: %v", err)
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{}), log: logf}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.done:
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("promtest: prometheus exited:\n%s", out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("promtest: prometheus not ready after 30s:\n%s", out)
		}
	}
}

// Stop stops the server and waits for it to exit.
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		_ = s.log.Close()
	})
}

// WaitFor polls an instant query until check accepts the body of its
// answer (the scrape is real time: a value the exporter changed shows up
// within a second or two).
func (s *Server) WaitFor(t testing.TB, query string, check func(body string) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := ""
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?query="+urlQuery(query), nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			buf := new(strings.Builder)
			_, _ = ioCopy(buf, resp)
			last = buf.String()
			if check(last) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("promtest: %s never satisfied the check; last answer: %s", query, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
