package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// Fleet is the configured instances and what can be done with them.
type Fleet struct {
	cfg      Config
	store    *Store
	checker  *Checker
	runner   Runner
	resolver *Resolver
	client   *http.Client
	clock    clock.Clock
	log      *slog.Logger

	mu        sync.Mutex
	switching map[string]bool // apps with a switch under way
}

// Options configure a Fleet.
type Options struct {
	Config Config
	DB     *sql.DB
	Clock  clock.Clock
	Logger *slog.Logger
	// Client makes every HTTP request (default: a client of its own).
	Client *http.Client
}

// New returns a fleet over a validated config.
func New(o Options) *Fleet {
	cfg := o.Config.WithDefaults()
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	slow := cfg.SlowAfter
	f := &Fleet{
		cfg: cfg, store: NewStore(o.DB), client: o.Client, clock: o.Clock, log: o.Logger,
		checker:   &Checker{Client: o.Client, Timeout: cfg.Timeout, SlowAfter: slow, Concurrency: cfg.Concurrency, Now: o.Clock.Now},
		runner:    Runner{Client: o.Client, Timeout: cfg.ActionTimeout},
		switching: map[string]bool{},
	}
	f.resolver = NewResolver(cfg.List, f.appAliases)
	return f
}

// Config is the fleet's config, with defaults applied.
func (f *Fleet) Config() Config { return f.cfg }

// Store is where the fleet keeps its state.
func (f *Fleet) Store() *Store { return f.store }

// Checker is the fleet's health checker.
func (f *Fleet) Checker() *Checker { return f.checker }

// Instances are the configured instances, in config order.
func (f *Fleet) Instances() []Instance { return slices.Clone(f.cfg.List) }

// Instance returns the instance of that name.
func (f *Fleet) Instance(name string) (Instance, bool) {
	for _, in := range f.cfg.List {
		if strings.EqualFold(in.Name, name) {
			return in, true
		}
	}
	return Instance{}, false
}

// Names are the instances' names, in config order.
func (f *Fleet) Names() []string {
	out := make([]string, len(f.cfg.List))
	for i, in := range f.cfg.List {
		out[i] = in.Name
	}
	return out
}

// Envs are the instances' environments, sorted.
func (f *Fleet) Envs() []string {
	var out []string
	for _, in := range f.cfg.List {
		if e := strings.ToLower(in.Env); e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out
}

// Apps are the blue-green apps, sorted.
func (f *Fleet) Apps() []string {
	out := make([]string, 0, len(f.cfg.Apps))
	for name := range f.cfg.Apps {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// App finds a blue-green app by name or alias.
func (f *Fleet) App(word string) (string, bool) {
	w := strings.ToLower(strings.TrimSpace(word))
	for name, a := range f.cfg.Apps {
		if name == w {
			return name, true
		}
		if a != nil {
			for _, al := range a.Aliases {
				if strings.EqualFold(al, w) {
					return name, true
				}
			}
		}
	}
	return "", false
}

// Roles are an app's roles (its colours), sorted.
func (f *Fleet) Roles(app string) []string { return f.cfg.rolesOf(app) }

func (f *Fleet) appAliases(app string) []string {
	if a := f.cfg.Apps[strings.ToLower(app)]; a != nil {
		return a.Aliases
	}
	return nil
}

// Resolve finds the instance a text names (see the package's Resolve).
func (f *Fleet) Resolve(ctx context.Context, text string) (Instance, error) {
	return f.resolver.Resolve(ctx, text, f.IsActive)
}

// ErrNotBlueGreen is an app with no blue-green config.
var ErrNotBlueGreen = errors.New("not a blue-green app")

// ActiveColour is the colour of app that takes the traffic: read from the
// app's source (the load balancer or a program), or the one opsbot keeps.
func (f *Fleet) ActiveColour(ctx context.Context, app string) (string, error) {
	name, ok := f.App(app)
	if !ok {
		return "", fmt.Errorf("%s: %w (blue-green apps: %s)", app, ErrNotBlueGreen, strings.Join(f.Apps(), ", "))
	}
	a := f.cfg.Apps[name]
	if a == nil || a.Active == nil {
		rec, found, err := f.store.Active(ctx, name)
		if err != nil {
			return "", err
		}
		if found {
			return rec.Colour, nil
		}
		if a != nil && a.Initial != "" {
			return strings.ToLower(a.Initial), nil
		}
		return "", fmt.Errorf("no active colour of %s is known yet: switch it once, or set instances.apps.%s.initial", name, name)
	}
	colour, err := f.readSource(ctx, a.Active)
	if err != nil {
		return "", fmt.Errorf("read the active colour of %s: %w", name, err)
	}
	if roles := f.Roles(name); !slices.Contains(roles, colour) {
		return "", fmt.Errorf("the active colour of %s reads %q, which is no role of its instances (%s)", name, colour, strings.Join(roles, ", "))
	}
	return colour, nil
}

// readSource reads an active-colour source.
func (f *Fleet) readSource(ctx context.Context, s *Source) (string, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = f.cfg.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var raw string
	if s.URL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
		if err != nil {
			return "", err
		}
		for k, v := range s.Headers {
			req.Header.Set(k, v.Reveal())
		}
		resp, err := f.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("%s: no answer within %s", redactURL(s.URL), timeout)
			}
			return "", fmt.Errorf("%s: %w", redactURL(s.URL), unwrapURLError(err))
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, DefaultMaxBody))
		if resp.StatusCode/100 != 2 {
			return "", fmt.Errorf("%s: HTTP %d", redactURL(s.URL), resp.StatusCode)
		}
		raw = string(b)
		if s.Field != "" {
			v, err := jsonField(b, s.Field)
			if err != nil {
				return "", fmt.Errorf("%s: %w", redactURL(s.URL), err)
			}
			raw = v
		} else {
			var str string
			if json.Unmarshal(b, &str) == nil {
				raw = str
			}
		}
	} else {
		res, err := runArgv(ctx, s.Argv, nil)
		if err != nil {
			return "", err
		}
		raw = res.Output
	}
	raw = strings.ToLower(strings.TrimSpace(raw))
	if i := strings.IndexByte(raw, '\n'); i >= 0 {
		raw = strings.TrimSpace(raw[:i])
	}
	if raw == "" {
		return "", errors.New("the answer is empty")
	}
	return raw, nil
}

// jsonField reads a dotted path ("backend.active") from a JSON object.
func jsonField(b []byte, path string) (string, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("the answer is not JSON: %w", err)
	}
	for p := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("the answer has no field %q", path)
		}
		if v, ok = m[p]; !ok {
			return "", fmt.Errorf("the answer has no field %q", path)
		}
	}
	s := str(v)
	if s == "" {
		return "", fmt.Errorf("the field %q is not a string", path)
	}
	return s, nil
}

// IsActive reports whether an instance takes traffic: it is marked serving,
// or its role is its blue-green app's active colour.
func (f *Fleet) IsActive(ctx context.Context, in Instance) (bool, error) {
	if in.Serving {
		return true, nil
	}
	if _, ok := f.App(in.App); !ok || in.Role == "" {
		return false, nil
	}
	c, err := f.ActiveColour(ctx, in.App)
	if err != nil {
		return false, err
	}
	return strings.EqualFold(c, in.Role), nil
}

// Check checks one instance within the timeout.
func (f *Fleet) Check(ctx context.Context, in Instance) Status { return f.checker.Check(ctx, in) }

// Row is one instance in a platform report.
type Row struct {
	Instance Instance
	Status   Status
	Active   bool
	// ActiveErr is why it is unknown whether the instance is active.
	ActiveErr string
}

// Report is the state of the platform, or of one environment.
type Report struct {
	Env  string
	Rows []Row
	Took time.Duration
}

// Counts returns how many instances are up, degraded, down and unknown.
func (r Report) Counts() map[State]int {
	out := map[State]int{}
	for _, row := range r.Rows {
		out[row.Status.State]++
	}
	return out
}

// ErrUnknownEnv is an environment no instance is in.
var ErrUnknownEnv = errors.New("no instance is in that environment")

// Platform checks every instance (of env, when given) and every app's
// active colour concurrently, all within the timeout.
func (f *Fleet) Platform(ctx context.Context, env string) (Report, error) {
	start := time.Now()
	env = strings.ToLower(strings.TrimSpace(env))
	var ins []Instance
	for _, in := range f.cfg.List {
		if env == "" || strings.EqualFold(in.Env, env) {
			ins = append(ins, in)
		}
	}
	if env != "" && len(ins) == 0 {
		return Report{}, fmt.Errorf("%q: %w (environments: %s)", env, ErrUnknownEnv, strings.Join(f.Envs(), ", "))
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	type active struct {
		colour string
		err    error
	}
	actives := map[string]*active{}
	for _, in := range ins {
		if name, ok := f.App(in.App); ok {
			actives[name] = &active{}
		}
	}
	var wg sync.WaitGroup
	for name, a := range actives {
		wg.Go(func() { a.colour, a.err = f.ActiveColour(ctx, name) })
	}
	sts := f.checker.CheckAll(ctx, ins)
	wg.Wait()
	r := Report{Env: env, Rows: make([]Row, len(ins))}
	for i, in := range ins {
		row := Row{Instance: in, Status: sts[i], Active: in.Serving}
		if name, ok := f.App(in.App); ok && in.Role != "" {
			if a := actives[name]; a.err != nil {
				row.ActiveErr = a.err.Error()
			} else {
				row.Active = strings.EqualFold(a.colour, in.Role)
			}
		}
		r.Rows[i] = row
	}
	r.Took = time.Since(start)
	return r, nil
}

// Task is one thing running on an instance.
type Task struct {
	Name    string `json:"name"`
	State   string `json:"state,omitempty"`
	Started string `json:"started,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Tasks reads an instance's tasks URL: a JSON list of tasks (or {"tasks":
// […]}) is returned as tasks, anything else as text.
func (f *Fleet) Tasks(ctx context.Context, in Instance) ([]Task, string, error) {
	if in.Tasks == "" {
		return nil, "", fmt.Errorf("%s has no tasks URL (instances.list[].tasks)", in.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	code, body, err := f.checker.get(ctx, in, in.Tasks)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %s", in.Name, f.checker.errText(ctx, err))
	}
	if code/100 != 2 {
		return nil, "", fmt.Errorf("%s: the tasks URL answered HTTP %d", in.Name, code)
	}
	var list []map[string]any
	if err := json.Unmarshal(body, &list); err != nil {
		var wrapped map[string]json.RawMessage
		if json.Unmarshal(body, &wrapped) == nil {
			for _, k := range []string{"tasks", "jobs", "items", "running"} {
				if raw, ok := wrapped[k]; ok && json.Unmarshal(raw, &list) == nil {
					break
				}
			}
		}
	}
	if list == nil {
		return nil, strings.TrimSpace(string(body)), nil
	}
	tasks := make([]Task, 0, len(list))
	for _, m := range list {
		tasks = append(tasks, Task{
			Name:    firstOf(m, "name", "task", "job", "id", "command"),
			State:   firstOf(m, "state", "status"),
			Started: firstOf(m, "started", "started_at", "startedAt", "since", "start"),
			Detail:  firstOf(m, "detail", "progress", "message", "args"),
		})
	}
	return tasks, "", nil
}

// ErrNoAction is an instance or app with no action configured.
var ErrNoAction = errors.New("no action configured")

// Restart runs an instance's restart action; it does not ask whether the
// instance is active (the caller's policy does).
func (f *Fleet) Restart(ctx context.Context, in Instance, by string) (Result, error) {
	if in.Restart == nil {
		return Result{}, fmt.Errorf("%s: %w (instances.list[].restart)", in.Name, ErrNoAction)
	}
	res, err := f.runner.Run(ctx, in.Restart, restartVars(in, by))
	f.log.Info("fleet restart", "instance", in.Name, "by", by, "action", res.What, "took", res.Duration, "err", err)
	return res, err
}

// RestartDescription says what restarting an instance runs.
func (f *Fleet) RestartDescription(in Instance, by string) string {
	if in.Restart == nil {
		return ""
	}
	return in.Restart.Describe(restartVars(in, by))
}

func restartVars(in Instance, by string) Vars {
	return Vars{"instance": in.Name, "app": in.App, "env": in.Env, "role": in.Role, "colour": in.Role, "user": by}
}
