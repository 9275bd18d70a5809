// Package ngircdtest runs a real ngircd IRC server on loopback for tests, and
// gives tests IRC users (Client) that talk to it with raw protocol lines.
//
// Start starts one server for a test, on free loopback ports, as the nobody
// user when the test runs as root, and stops it when the test ends (or when
// the test binary dies: the server gets SIGKILL with its parent). A missing
// ngircd skips the test, or fails it when $CI is true.
//
// The server has an IRC operator (OperName, OperPassword) so a test can KILL
// a client, a keyed channel (KeyedChannel, KeyedChannelKey), no per-IP
// connection limit, and ngircd's default nickname limit of 9 characters.
package ngircdtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// ServerName is the server's IRC name.
	ServerName = "irc.test.local"
	// OperName and OperPassword make a client an IRC operator (OPER).
	OperName     = "testoper"
	OperPassword = "operpass"
	// KeyedChannel is a persistent channel that only KeyedChannelKey opens.
	KeyedChannel    = "#keyed"
	KeyedChannelKey = "sesame"
	// MaxNickLength is ngircd's default nickname limit.
	MaxNickLength = 9
)

// startTimeout bounds the wait for the server to accept connections.
const startTimeout = 15 * time.Second

// Options configure the server.
type Options struct {
	// TLSCert and TLSKey, when set (PEM files), make the server also listen
	// for TLS on TLSPort.
	TLSCert, TLSKey string
	// Penalties keeps ngircd's flood penalties (a client's commands are
	// processed at most about one per second after a short burst). Off by
	// default, so tests can post quickly; the adapter's own flood control is
	// what the tests measure.
	Penalties bool
	// Password, when set, is the server password every client must send (PASS).
	Password string
}

// Server is a running ngircd.
type Server struct {
	Host    string // 127.0.0.1
	Port    int    // plain-text port
	TLSPort int    // TLS port, when Options asked for TLS

	bin  string
	dir  string
	conf string
	cred *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *lockedWriter
}

// Addr is host:port of the plain-text port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// TLSAddr is host:port of the TLS port.
func (s *Server) TLSAddr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.TLSPort)) }

// Start starts ngircd for t and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("ngircd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/ngircd", "/usr/local/sbin/ngircd"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		unavailable(t, "ngircd is not installed (Debian package ngircd; make test installs it)")
		return nil
	}
	cred, err := credential()
	if err != nil {
		t.Fatalf("ngircdtest: %v", err)
	}
	dir, err := os.MkdirTemp("/tmp", "ngircdtest-")
	if err != nil {
		t.Fatalf("ngircdtest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{Host: "127.0.0.1", dir: dir, cred: cred}
	if s.Port, err = freePort(); err != nil {
		t.Fatalf("ngircdtest: %v", err)
	}
	if opts.TLSCert != "" {
		if s.TLSPort, err = freePort(); err != nil {
			t.Fatalf("ngircdtest: %v", err)
		}
		opts.TLSCert, opts.TLSKey = s.copyIn(t, opts.TLSCert), s.copyIn(t, opts.TLSKey)
	}
	s.conf = filepath.Join(dir, "ngircd.conf")
	if err := os.WriteFile(s.conf, []byte(s.config(opts)), 0o644); err != nil {
		t.Fatalf("ngircdtest: %v", err)
	}
	if cred != nil {
		for _, p := range []string{dir, s.conf} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatalf("ngircdtest: %v", err)
			}
		}
	}
	s.bin = bin
	t.Cleanup(func() { s.Stop(t) })
	s.Restart(t)
	return s
}

// unavailable skips t, or fails it when $CI is true.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("ngircdtest: %s; $CI is true, so the IRC tests must run", reason)
	}
	t.Skipf("ngircdtest: %s", reason)
}

func (s *Server) copyIn(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("ngircdtest: %v", err)
	}
	dst := filepath.Join(s.dir, filepath.Base(path))
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatalf("ngircdtest: %v", err)
	}
	return dst
}

func (s *Server) config(opts Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Global]\nName = %s\nInfo = opsbot test server\nListen = %s\nPorts = %d\nMotdPhrase = opsbot test server\n", ServerName, s.Host, s.Port)
	if opts.Password != "" {
		fmt.Fprintf(&b, "Password = %s\n", opts.Password)
	}
	b.WriteString("[Limits]\nMaxConnectionsIP = 0\nMaxJoins = 0\n")
	if !opts.Penalties {
		b.WriteString("MaxPenaltyTime = 0\n")
	}
	b.WriteString("[Options]\nPAM = no\nIdent = no\nDNS = no\n")
	fmt.Fprintf(&b, "[Operator]\nName = %s\nPassword = %s\n", OperName, OperPassword)
	fmt.Fprintf(&b, "[Channel]\nName = %s\nModes = +Ptnk %s\n", KeyedChannel, KeyedChannelKey)
	if opts.TLSCert != "" {
		fmt.Fprintf(&b, "[SSL]\nCertFile = %s\nKeyFile = %s\nPorts = %d\n", opts.TLSCert, opts.TLSKey, s.TLSPort)
	}
	return b.String()
}

// Restart starts the server again after Stop (Start has started it once).
// It returns once the server accepts connections.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		t.Fatalf("ngircdtest: the server is already running")
	}
	cmd := exec.Command(s.bin, "-n", "-f", s.conf)
	cmd.Dir = s.dir
	out := &lockedWriter{w: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("ngircdtest: start ngircd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done, s.out = cmd, done, out
	deadline := time.Now().Add(startTimeout)
	for _, addr := range s.addrs() {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				_ = c.Close()
				break
			}
			select {
			case <-done:
				t.Fatalf("ngircdtest: ngircd exited at start: %s", s.logText())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("ngircdtest: ngircd did not listen on %s within %s: %v\n%s", addr, startTimeout, err, s.logText())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (s *Server) addrs() []string {
	out := []string{s.Addr()}
	if s.TLSPort != 0 {
		out = append(out, s.TLSAddr())
	}
	return out
}

// Stop kills the server (SIGKILL: every client loses its connection at once,
// as in a crash) and waits for it to exit. It is a no-op when it is stopped.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(startTimeout):
		t.Errorf("ngircdtest: ngircd did not exit after SIGKILL")
	}
	s.cmd = nil
}

// Log returns what ngircd printed so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logText()
}

func (s *Server) logText() string {
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// credential is whom to run ngircd as: nil (ourselves) unless we are root;
// then nobody, so that ngircd needs no privileges of its own.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root and no nobody user to run ngircd as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("nobody's user id %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("nobody's group id %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
