// Package graphitetest starts a real Graphite for tests: Debian's
// carbon-cache (whisper storage, a 10-second retention step) and
// graphite-web's render API under gunicorn, on free loopback ports in a
// temp directory, stopped when the test ends. Without the packages the
// test is skipped, or fails when $CI is true.
package graphitetest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsbot/opsbot/monitor/promtest"
)

// Python is Debian's own interpreter (another python3 may come first on PATH).
const Python = "/usr/bin/python3"

// WebRoot is where the graphite-web package keeps its files.
const WebRoot = "/usr/share/graphite-web"

// Step is the retention step: timestamps snap to it.
const Step = 10 * time.Second

// Server is a running carbon-cache plus graphite-web.
type Server struct {
	URL      string // graphite-web: /render
	LineAddr string // carbon's plaintext line receiver
	procs    []*exec.Cmd
	done     []chan struct{}
	once     sync.Once
	dir      string
}

// Available reports why Graphite can't run here ("" when it can).
func Available() string {
	for _, f := range []string{"/usr/bin/carbon-cache", "/usr/bin/django-admin", Python, WebRoot + "/graphite.wsgi"} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Sprintf("%s is missing (Debian packages graphite-carbon, graphite-web, python3-gunicorn; scripts/test-deps.sh installs them)", f)
		}
	}
	if err := exec.Command(Python, "-c", "import gunicorn, graphite").Run(); err != nil {
		return "python3 cannot import gunicorn and graphite (Debian packages python3-gunicorn, graphite-web)"
	}
	return ""
}

// Start runs carbon-cache and graphite-web.
func Start(t testing.TB) *Server {
	t.Helper()
	if why := Available(); why != "" {
		promtest.Unavailable(t, why)
	}
	dir := t.TempDir()
	for _, d := range []string{"conf", "storage/whisper", "storage/log/webapp", "storage/log/carbon", "run", "py"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	line, pickle, query, web := promtest.FreePort(t), promtest.FreePort(t), promtest.FreePort(t), promtest.FreePort(t)
	whisper := filepath.Join(dir, "storage/whisper") + "/"
	carbon := fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/storage/
LOCAL_DATA_DIR = %[2]s
CONF_DIR = %[1]s/conf/
LOG_DIR = %[1]s/storage/log/carbon/
PID_DIR = %[1]s/run/
DATABASE = whisper
USER =
ENABLE_TAGS = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %[3]d
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %[4]d
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %[5]d
LOG_UPDATES = False
LOG_CACHE_HITS = False
`, dir, whisper, line, pickle, query)
	settings := fmt.Sprintf(`SECRET_KEY = 'graphitetest'
ALLOWED_HOSTS = ['*']
GRAPHITE_ROOT = %[3]q
STATIC_ROOT = %[3]q + '/static'
CONF_DIR = %[1]q + '/conf'
STORAGE_DIR = %[1]q + '/storage'
WHISPER_DIR = %[2]q
LOG_DIR = %[1]q + '/storage/log/webapp'
INDEX_FILE = %[1]q + '/storage/index'
CARBONLINK_HOSTS = ['127.0.0.1:%[4]d']
TAGDB = ''
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': %[1]q + '/storage/graphite.db'}}
`, dir, whisper, WebRoot, query)
	files := map[string]string{
		"conf/carbon.conf":            carbon,
		"conf/storage-schemas.conf":   "[default]\npattern = .*\nretentions = 10s:1d\n",
		"py/graphitetest_settings.py": settings,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PYTHONPATH="+filepath.Join(dir, "py"), "GRAPHITE_SETTINGS_MODULE=graphitetest_settings",
		"DJANGO_SETTINGS_MODULE=graphite.settings")
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(web), LineAddr: "127.0.0.1:" + strconv.Itoa(line), dir: dir}
	t.Cleanup(s.Stop)

	migrate := exec.Command(Python, "/usr/bin/django-admin", "migrate", "--noinput")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("graphitetest: django-admin migrate: %v\n%s", err, out)
	}
	s.start(t, env, "carbon", Python, "/usr/bin/carbon-cache", "--config="+filepath.Join(dir, "conf/carbon.conf"),
		"--pidfile="+filepath.Join(dir, "run/carbon.pid"), "--logdir="+filepath.Join(dir, "storage/log/carbon"), "--nodaemon", "start")
	s.start(t, env, "gunicorn", Python, "-m", "gunicorn", "--bind", "127.0.0.1:"+strconv.Itoa(web), "--workers", "2",
		"--chdir", WebRoot, "graphite.wsgi:application")
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.LineAddr, time.Second)
		if err == nil {
			c.Close()
			resp, err := http.Get(s.URL + "/render?target=none&format=json")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return s
				}
			}
		}
		for i, d := range s.done {
			select {
			case <-d:
				log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("proc%d.log", i)))
				t.Fatalf("graphitetest: %s exited:\n%s", s.procs[i].Path, log)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("graphitetest: not ready after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) start(t testing.TB, env []string, _ string, name string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("proc%d.log", len(s.procs))))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr, cmd.Dir = env, logf, logf, s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("graphitetest: start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(done) }()
	s.procs = append(s.procs, cmd)
	s.done = append(s.done, done)
}

// Stop stops both processes and waits for them.
func (s *Server) Stop() {
	s.once.Do(func() {
		for i, p := range s.procs {
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-s.done[i]
		}
	})
}

// Send writes "metric value timestamp" lines to carbon.
func (s *Server) Send(t testing.TB, metric string, points map[time.Time]float64) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.LineAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("graphitetest: %v", err)
	}
	defer c.Close()
	for at, v := range points {
		if _, err := fmt.Fprintf(c, "%s %s %d\n", metric, strconv.FormatFloat(v, 'f', -1, 64), at.Unix()); err != nil {
			t.Fatalf("graphitetest: send: %v", err)
		}
	}
}
