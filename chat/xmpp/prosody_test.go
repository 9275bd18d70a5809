package xmpp_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Accounts registered on every test server.
var accounts = []string{"bot", "alice", "bob", "carol"}

const password = "s3cret-pw"

// prosody is a real prosody on loopback, started for the tests.
type prosody struct {
	dir, conf string
	port      int

	mu  sync.Mutex
	cmd *exec.Cmd
}

// prosodyConfig is the server's config: c2s on loopback without TLS, no
// s2s, a MUC service that shows real JIDs (conference.localhost) and one
// that hides them (anon.localhost).
const prosodyConfig = `run_as_root = true
daemonize = false
pidfile = %[1]q
data_path = %[2]q
interfaces = { "127.0.0.1" }
c2s_ports = { %[3]d }
s2s_ports = { }
http_ports = { }
https_ports = { }
authentication = "internal_plain"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = { "roster", "saslauth", "disco", "ping" }
modules_disabled = { "s2s", "tls" }
log = { info = %[4]q }
%[5]s
VirtualHost "localhost"
Component "conference.localhost" "muc"
  muc_room_locking = false
  muc_room_default_public_jids = true
Component "anon.localhost" "muc"
  muc_room_locking = false
  muc_room_default_public_jids = false
`

// startProsody starts a prosody for t alone, or skips t (fails it under
// CI=true) when prosody is not installed.
func startProsody(t testing.TB) *prosody {
	t.Helper()
	requireProsody(t)
	s, err := newProsody(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	return s
}

func requireProsody(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("prosody"); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("prosody is not installed; $CI is true, so the XMPP tests must run (apt-get install prosody)")
		}
		t.Skip("prosody is not installed (apt-get install prosody): the XMPP adapter tests need it")
	}
}

// newProsody writes a config under dir (with extra global settings),
// registers the accounts and starts prosody.
func newProsody(dir, extra string) (*prosody, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &prosody{dir: dir, conf: filepath.Join(dir, "prosody.cfg.lua"), port: port}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(prosodyConfig, filepath.Join(dir, "prosody.pid"), data, s.port, filepath.Join(dir, "prosody.log"), extra)
	if err := os.WriteFile(s.conf, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	for _, user := range accounts {
		out, err := exec.Command("prosodyctl", "--config", s.conf, "register", user, "localhost", password).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("prosodyctl register %s: %v\n%s", user, err, out)
		}
	}
	return s, s.start()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *prosody) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start runs prosody and waits until its c2s port answers.
func (s *prosody) start() error {
	cmd := exec.Command("prosody", "--config", s.conf)
	cmd.Dir = s.dir
	out, err := os.Create(filepath.Join(s.dir, "stdout"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig: prosody dies with a test binary that crashes before its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start prosody: %w", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "stdout"))
			return fmt.Errorf("prosody did not listen on %s within 10s: %v\n%s", s.addr(), err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops prosody at once (SIGKILL), as a crash would.
func (s *prosody) kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
}

var (
	shared    *prosody
	sharedErr error
	roomSeq   struct {
		sync.Mutex
		n int
	}
)

// TestMain starts one prosody for the tests that don't restart theirs.
func TestMain(m *testing.M) {
	code := func() int {
		if _, err := exec.LookPath("prosody"); err == nil {
			dir, err := os.MkdirTemp("", "xmpp-test-")
			if err != nil {
				sharedErr = err
			} else {
				defer os.RemoveAll(dir)
				shared, sharedErr = newProsody(dir, "")
				if shared != nil {
					defer shared.kill()
				}
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// sharedProsody is the package's prosody.
func sharedProsody(t *testing.T) *prosody {
	t.Helper()
	requireProsody(t)
	if sharedErr != nil {
		t.Fatalf("prosody: %v", sharedErr)
	}
	return shared
}

// uniqueRoom names a fresh room so that tests don't meet each other's rooms.
func uniqueRoom(name, service string) string {
	roomSeq.Lock()
	defer roomSeq.Unlock()
	roomSeq.n++
	return fmt.Sprintf("%s-%d@%s", name, roomSeq.n, service)
}
