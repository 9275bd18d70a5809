package pgtest

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// keepAlive is the write end of the watchdog's stdin. It is never closed: the
// kernel closes it when the test binary exits, which makes the watchdog stop
// the server. Being a package variable also keeps it from being finalized.
var keepAlive io.WriteCloser

// startServer initialises and starts a throwaway server and returns the URL
// of its "postgres" database, or why it can't (skip: not installed; err: failed).
func startServer() (adminURL, skip string, err error) {
	bin, err := findBinaries()
	if errors.Is(err, errNotInstalled) {
		return "", err.Error(), nil
	}
	if err != nil {
		return "", "", err
	}
	cred, err := credential()
	if err != nil {
		return "", "", err
	}
	base, err := makeBaseDir(cred)
	if err != nil {
		return "", "", err
	}
	data := filepath.Join(base, "data")
	if err := startWatchdog(bin, cred, base, data); err != nil {
		_ = os.RemoveAll(base)
		return "", "", err
	}
	out, err := command(bin, cred, base, "initdb", "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// A port found free may be taken before the server binds it: retry.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", "", err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, base)
		logFile := filepath.Join(base, "log")
		out, err := command(bin, cred, base, "pg_ctl", "-D", data, "-o", opts, "-l", logFile, "-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), "", nil
		}
		if attempt == 3 {
			log, _ := os.ReadFile(logFile)
			return "", "", fmt.Errorf("pg_ctl start: %w\n%s\nserver log:\n%s", err, out, tail(log, 2000))
		}
	}
}

// debianBinaries is where Debian and Ubuntu install each PostgreSQL version.
var debianBinaries = "/usr/lib/postgresql/*/bin"

// findBinaries returns the directory holding initdb and pg_ctl.
func findBinaries() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	versions, _ := filepath.Glob(debianBinaries)
	// Newest major version first.
	major := func(dir string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return n
	}
	slices.SortFunc(versions, func(a, b string) int { return cmp.Compare(major(b), major(a)) })
	candidates = append(candidates, versions...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	return "", errNotInstalled
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// credential is whom to run PostgreSQL as: nil (ourselves) unless we are
// root, which PostgreSQL refuses; then the postgres user.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, which PostgreSQL refuses, and no postgres user to run it as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user id %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres group id %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// makeBaseDir creates the directory holding the data directory, the log and
// the socket, owned by the user running the server. It is short (the socket
// path must fit in 107 bytes) and, for another user, under /tmp, which every
// user can reach (unlike, say, /root).
func makeBaseDir(cred *syscall.Credential) (string, error) {
	parent := os.TempDir()
	if cred != nil {
		parent = "/tmp"
	}
	base, err := os.MkdirTemp(parent, "pgtest-")
	if err != nil {
		return "", fmt.Errorf("server directory: %w", err)
	}
	if cred != nil {
		if err := os.Chown(base, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(base)
			return "", fmt.Errorf("server directory: %w", err)
		}
	}
	return base, nil
}

// startWatchdog starts a shell that waits for its stdin to close (when the
// test binary exits, however it exits), then stops the server and deletes
// base. It runs in its own process group so that ^C reaches it only through
// the test binary's exit.
func startWatchdog(bin string, cred *syscall.Credential, base, data string) error {
	cmd := exec.Command("/bin/sh", "-c", `cat >/dev/null; "$0" -D "$1" -m immediate -w stop >/dev/null 2>&1; rm -rf "$2"`,
		filepath.Join(bin, "pg_ctl"), data, base)
	cmd.Dir = base
	cmd.Env = environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	// Not waited for: it ends after the test binary.
	keepAlive = stdin
	return nil
}

// command prepares a PostgreSQL program to run as cred in dir.
func command(bin string, cred *syscall.Credential, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Dir = dir
	cmd.Env = environ()
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return cmd
}

// environ is our environment without the PG* variables, which would steer the
// PostgreSQL programs elsewhere.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail is the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
