package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Result is how an action ended.
type Result struct {
	// What was run: the argv, or the method and URL (credentials left out).
	What string
	// Output is the tail of the program's output, or of the answer's body.
	Output   string
	Duration time.Duration
}

// maxOutput is how much of an action's output is kept.
const maxOutput = 4 << 10

// Vars are the placeholders' values: {instance}, {app}, {env}, {role},
// {colour}, {from}, {user}. They come from the config and the opsbot user's
// name, never from chat text.
type Vars map[string]string

// expand fills "{name}" placeholders whose name is in vars; others stay.
func (v Vars) expand(s string, escape func(string) string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		val := v[k]
		if escape != nil {
			val = escape(val)
		}
		pairs = append(pairs, "{"+k+"}", val)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Command is the program an action runs, with placeholders filled in; nil for
// an HTTP action.
func (a *Action) Command(v Vars) []string {
	switch {
	case len(a.Argv) > 0:
		out := make([]string, len(a.Argv))
		for i, s := range a.Argv {
			out[i] = v.expand(s, nil)
		}
		return out
	case a.Systemd != nil:
		ssh := a.Systemd.SSH
		if len(ssh) == 0 {
			ssh = []string{"ssh", "-o", "BatchMode=yes"}
		}
		// The host and unit are checked names from the config: the remote
		// shell ssh hands them to sees no chat text.
		return append(append([]string(nil), ssh...), a.Systemd.Host, "systemctl", "restart", a.Systemd.Unit)
	case a.Kubectl != nil:
		k := a.Kubectl
		out := append([]string(nil), k.Kubectl...)
		if len(out) == 0 {
			out = []string{"kubectl"}
		}
		if k.Context != "" {
			out = append(out, "--context", k.Context)
		}
		if k.Namespace != "" {
			out = append(out, "--namespace", k.Namespace)
		}
		target := k.Deployment
		if !strings.Contains(target, "/") {
			target = "deployment/" + target
		}
		return append(out, "rollout", "restart", target)
	}
	return nil
}

// Describe says what the action does, without credentials.
func (a *Action) Describe(v Vars) string {
	if a.HTTP != nil {
		return a.HTTP.method() + " " + redactURL(v.expand(a.HTTP.URL, url.PathEscape))
	}
	return strings.Join(a.Command(v), " ")
}

func (h *HTTPCall) method() string {
	if h.Method != "" {
		return strings.ToUpper(h.Method)
	}
	return http.MethodPost
}

// Runner runs actions.
type Runner struct {
	Client *http.Client
	// Timeout bounds an action that names none.
	Timeout time.Duration
}

// Run runs an action and waits for it. A program must exit 0, a request
// must get a 2xx answer; otherwise the error says what happened and the
// result holds the output.
func (r Runner) Run(ctx context.Context, a *Action, v Vars) (Result, error) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = r.Timeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()
	var res Result
	var err error
	if a.HTTP != nil {
		res, err = r.request(ctx, a.HTTP, v)
	} else {
		res, err = runArgv(ctx, a.Command(v), v)
	}
	res.Duration = time.Since(start)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%s: no result within %s: %w", res.What, timeout, context.DeadlineExceeded)
	}
	return res, err
}

// baseEnv is the part of opsbot's environment a program inherits: not the
// rest, which may hold opsbot's own secrets.
var baseEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSH_AUTH_SOCK", "KUBECONFIG"}

// runArgv runs a program in its own process group (no shell); when ctx ends
// the whole group is killed.
func runArgv(ctx context.Context, argv []string, v Vars) (Result, error) {
	res := Result{What: strings.Join(argv, " ")}
	if len(argv) == 0 || argv[0] == "" {
		return res, errors.New("no program to run")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	for _, k := range baseEnv {
		if val, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+val)
		}
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, "OPSBOT_"+strings.ToUpper(k)+"="+v[k])
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	out := &tail{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what it left behind in its group
	}
	res.Output = strings.TrimSpace(out.String())
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ctx.Err() == nil {
			return res, fmt.Errorf("%s exited with %s", argv[0], exitText(ee))
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("%s: %w", argv[0], ctx.Err())
		}
		return res, fmt.Errorf("run %s: %w", argv[0], err)
	}
	return res, nil
}

func exitText(ee *exec.ExitError) string {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprintf("status %d", ee.ExitCode())
}

func (r Runner) request(ctx context.Context, h *HTTPCall, v Vars) (Result, error) {
	u := v.expand(h.URL, url.PathEscape)
	res := Result{What: h.method() + " " + redactURL(u)}
	var body io.Reader
	jsonBody := strings.HasPrefix(strings.TrimSpace(h.Body), "{") || strings.HasPrefix(strings.TrimSpace(h.Body), "[")
	if h.Body != "" {
		esc := func(s string) string { return s }
		if jsonBody {
			esc = jsonEscape
		}
		body = strings.NewReader(v.expand(h.Body, esc))
	}
	req, err := http.NewRequestWithContext(ctx, h.method(), u, body)
	if err != nil {
		return res, fmt.Errorf("%s: %w", res.What, err)
	}
	if h.Body != "" {
		if jsonBody {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	for k, val := range h.Headers {
		req.Header.Set(k, val.Reveal())
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return res, fmt.Errorf("%s: %w", res.What, unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	res.Output = strings.TrimSpace(string(b))
	if resp.StatusCode/100 != 2 {
		return res, fmt.Errorf("%s: HTTP %d", res.What, resp.StatusCode)
	}
	return res, nil
}

func (r Runner) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return http.DefaultClient
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// unwrapURLError drops *url.Error's "Get URL:" prefix, which may carry the
// URL's credentials.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf bytes.Buffer
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		b := append([]byte(nil), t.buf.Bytes()[over:]...)
		t.buf.Reset()
		t.buf.Write(b)
		t.cut = true
	}
	return n, nil
}

func (t *tail) String() string {
	if t.cut {
		return "…" + t.buf.String()
	}
	return t.buf.String()
}
