// Package amtest starts a real Prometheus Alertmanager (Debian's
// prometheus-alertmanager) on loopback for tests, with one webhook
// receiver, and pushes alerts to it through its v2 API.
//
// Start skips the test when the binary is missing, or fails it when $CI is
// true. Each Alertmanager gets a temporary directory and a free port, with
// clustering off, and is stopped when the test ends.
package amtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary is the Debian package's command.
const Binary = "prometheus-alertmanager"

// Options configure the receiver and the timings.
type Options struct {
	// WebhookURL receives the notifications (send_resolved: true).
	WebhookURL string
	// Token goes as "Authorization: Bearer TOKEN".
	Token string
	// GroupWait and GroupInterval default to 1s, ResolveTimeout to 5s,
	// RepeatInterval to 1h.
	GroupWait, GroupInterval, ResolveTimeout, RepeatInterval time.Duration
}

// Alertmanager is a running Alertmanager.
type Alertmanager struct {
	URL  string
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Logs is what Alertmanager logged.
func (am *Alertmanager) Logs() string { return am.logs.String() }

func dur(d, def time.Duration) string {
	if d <= 0 {
		d = def
	}
	return d.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start runs an Alertmanager for t.
func Start(t testing.TB, o Options) *Alertmanager {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("amtest: %s is not installed; $CI is true, so the Alertmanager tests must run (scripts/test-deps.sh installs it)", Binary)
		}
		t.Skipf("amtest: %s is not installed; install the Debian package prometheus-alertmanager to run this test", Binary)
	}
	dir := t.TempDir()
	auth := ""
	if o.Token != "" {
		auth = fmt.Sprintf("\n        http_config:\n          authorization:\n            credentials: %q", o.Token)
	}
	cfg := fmt.Sprintf(`global:
  resolve_timeout: %s
route:
  receiver: opsbot
  group_by: [alertname]
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
receivers:
  - name: opsbot
    webhook_configs:
      - url: %q
        send_resolved: true%s
`, dur(o.ResolveTimeout, 5*time.Second), dur(o.GroupWait, time.Second), dur(o.GroupInterval, time.Second),
		dur(o.RepeatInterval, time.Hour), o.WebhookURL, auth)
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		am := &Alertmanager{URL: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &syncBuffer{}}
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgFile, "--storage.path="+filepath.Join(dir, fmt.Sprint("data", attempt)),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=", "--log.level=debug")
		cmd.Stdout, cmd.Stderr = am.logs, am.logs
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("amtest: start %s: %v", Binary, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if last = am.waitReady(exited); last == nil {
			t.Cleanup(func() {
				cancel()
				<-exited
			})
			return am
		}
		cancel()
		<-exited
	}
	t.Fatalf("amtest: %v", last)
	return nil
}

// waitReady polls /-/ready until it answers 200, the process exits, or 20 s pass.
func (am *Alertmanager) waitReady(exited <-chan error) error {
	deadline := time.After(20 * time.Second)
	for {
		resp, err := http.Get(am.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("alertmanager exited (%v):\n%s", err, am.Logs())
		case <-deadline:
			return fmt.Errorf("alertmanager not ready after 20s:\n%s", am.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Alert is an alert as the v2 API takes it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Push posts alerts to POST /api/v2/alerts (an alert with EndsAt in the
// past is resolved).
func (am *Alertmanager) Push(t testing.TB, alerts ...Alert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("amtest: push: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b strings.Builder
		_, _ = fmt.Fprintf(&b, "HTTP %d", resp.StatusCode)
		t.Fatalf("amtest: push: %s\n%s", b.String(), am.Logs())
	}
}
