// Package fleet knows the platform's instances: where their health, version
// and task endpoints are, how each is restarted, which colour of a
// blue-green app takes the traffic and how to switch it. It checks health
// concurrently within one timeout, finds instances from the words of a
// command, and watches them on an interval with flap damping. The chat side
// is modules/fleet; see docs/fleet.md.
package fleet

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Defaults of the `instances` section.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultConcurrency   = 32
	DefaultSlowAfter     = 2 * time.Second
	DefaultInterval      = 30 * time.Second
	DefaultDownAfter     = 3
	DefaultUpAfter       = 2
	DefaultActionTimeout = 2 * time.Minute
	DefaultMaxBody       = 64 << 10
)

// Config is the `instances` section.
type Config struct {
	// Timeout bounds a health check, and a whole `platform` report: an
	// instance that has not answered by then is reported as not answering.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many instances are checked at once.
	Concurrency int `yaml:"concurrency"`
	// SlowAfter marks an instance that answers healthy but slower than this
	// as degraded (0 keeps the default; a negative value turns it off).
	SlowAfter time.Duration `yaml:"slow_after"`
	// Poll turns the periodic health check on (the default) or off.
	Poll *bool `yaml:"poll"`
	// Interval between periodic health checks.
	Interval time.Duration `yaml:"interval"`
	// DownAfter is how many consecutive failed checks make an instance down
	// (flap damping); UpAfter how many consecutive good ones bring it back.
	DownAfter int `yaml:"down_after"`
	UpAfter   int `yaml:"up_after"`
	// ActionTimeout bounds a restart or switch action that names none.
	ActionTimeout time.Duration `yaml:"action_timeout"`

	// Platform is the `platform` command's name and aliases.
	Platform Named `yaml:"platform"`
	// Panic is the panic button.
	Panic Panic `yaml:"panic"`
	// Apps are the blue-green apps: where their active colour is read and
	// how it is switched. Instances name their app.
	Apps map[string]*App `yaml:"apps"`
	// List is the instances.
	List []Instance `yaml:"list"`
}

// Named is a command's name and the other phrases that run it.
type Named struct {
	Command string   `yaml:"command"`
	Aliases []string `yaml:"aliases"`
}

// Panic is the panic button: it posts the platform report to Rooms and
// mentions Responders (opsbot users, or "group:NAME").
type Panic struct {
	Named      `yaml:",inline"`
	Rooms      []string `yaml:"rooms"`
	Responders []string `yaml:"responders"`
}

// App is a blue-green app.
type App struct {
	// Aliases are words that name the app's instances ("master", "roi hunter").
	Aliases []string `yaml:"aliases"`
	// Active is where the active colour is read. Without it opsbot keeps the
	// active colour itself, changed only by `switch`.
	Active *Source `yaml:"active"`
	// Initial is the active colour opsbot keeps before the first switch
	// (only without Active).
	Initial string `yaml:"initial"`
	// Switch is what switching does: {app}, {colour}, {from} and {user} are
	// filled in. Without it a switch only changes the colour opsbot keeps
	// (for a load balancer that reads GET /api/v1/instances).
	Switch *Action `yaml:"switch"`
	// Confirm makes `switch` on this app ask for confirmation.
	Confirm bool `yaml:"confirm"`
}

// Source is where an app's active colour is read: an HTTP endpoint of the
// load balancer (its body, or a field of its JSON body) or a program's
// output (never through a shell).
type Source struct {
	URL     string                   `yaml:"url"`
	Field   string                   `yaml:"field"`
	Headers map[string]config.Secret `yaml:"headers"`
	Argv    []string                 `yaml:"argv"`
	Timeout time.Duration            `yaml:"timeout"`
}

// Instance is one running copy of an app.
type Instance struct {
	Name    string   `yaml:"name" json:"name"`
	Aliases []string `yaml:"aliases" json:"aliases,omitempty"`
	// Icon is an emoji or code (":large_blue_circle:") that names it too.
	Icon string `yaml:"icon" json:"icon,omitempty"`
	Env  string `yaml:"env" json:"env,omitempty"`
	App  string `yaml:"app" json:"app,omitempty"`
	// Role is the instance's colour in a blue-green app (blue, green) or
	// another role (cron, worker).
	Role string `yaml:"role" json:"role,omitempty"`
	// Serving marks an instance that always takes traffic (no blue-green
	// pair): plain `restart` refuses it like an active one.
	Serving bool `yaml:"serving" json:"serving,omitempty"`
	// Health, Version and Tasks are URLs.
	Health  string `yaml:"health" json:"health,omitempty"`
	Version string `yaml:"version" json:"version_url,omitempty"`
	Tasks   string `yaml:"tasks" json:"tasks_url,omitempty"`
	// Headers go with the health, version and tasks requests (secrets).
	Headers map[string]config.Secret `yaml:"headers" json:"-"`
	// Restart is how it is restarted.
	Restart *Action `yaml:"restart" json:"-"`
}

// Action is something opsbot runs: exactly one of a program (an argv, never
// a shell), an HTTP request, a systemd unit restarted over SSH, or a
// Kubernetes rollout restart.
type Action struct {
	Argv    []string      `yaml:"argv"`
	HTTP    *HTTPCall     `yaml:"http"`
	Systemd *Systemd      `yaml:"systemd"`
	Kubectl *Kubectl      `yaml:"kubectl"`
	Timeout time.Duration `yaml:"timeout"`
}

// HTTPCall is a request an action sends. A 2xx answer is success.
type HTTPCall struct {
	Method  string                   `yaml:"method"`
	URL     string                   `yaml:"url"`
	Headers map[string]config.Secret `yaml:"headers"`
	Body    string                   `yaml:"body"`
}

// Systemd restarts a unit on a host: ssh HOST systemctl restart UNIT.
type Systemd struct {
	Host string `yaml:"host"` // "web1" or "deploy@web1"
	Unit string `yaml:"unit"`
	// SSH is the ssh program and its options (default ["ssh", "-o", "BatchMode=yes"]).
	SSH []string `yaml:"ssh"`
}

// Kubectl runs kubectl rollout restart on a workload.
type Kubectl struct {
	// Deployment is "NAME" (a deployment) or "KIND/NAME" (statefulset/db).
	Deployment string `yaml:"deployment"`
	Namespace  string `yaml:"namespace"`
	Context    string `yaml:"context"`
	// Kubectl is the program and global options (default ["kubectl"]).
	Kubectl []string `yaml:"kubectl"`
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	hostRE    = regexp.MustCompile(`^([a-zA-Z0-9._-]+@)?[a-zA-Z0-9.-]+$`)
	unitRE    = regexp.MustCompile(`^[a-zA-Z0-9@._:\\-]+$`)
	k8sRE     = regexp.MustCompile(`^([a-z]+/)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)
	commandRE = regexp.MustCompile(`^[a-z][a-z0-9-]*( [a-z0-9?-]+)*$`)
)

// ContextWords pick instances by whether they take traffic.
var ContextWords = map[string]bool{"active": true, "live": true, "inactive": false, "standby": false, "idle": false}

// WithDefaults returns c with unset values at their defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.SlowAfter == 0 {
		c.SlowAfter = DefaultSlowAfter
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.DownAfter <= 0 {
		c.DownAfter = DefaultDownAfter
	}
	if c.UpAfter <= 0 {
		c.UpAfter = DefaultUpAfter
	}
	if c.ActionTimeout <= 0 {
		c.ActionTimeout = DefaultActionTimeout
	}
	if c.Platform.Command == "" {
		c.Platform.Command = "platform"
	}
	if c.Panic.Command == "" {
		c.Panic.Command = "panic"
	}
	return c
}

// Polling reports whether the periodic health check runs.
func (c Config) Polling() bool { return c.Poll == nil || *c.Poll }

// Validate checks the section; problems name their path.
func (c Config) Validate() error {
	var errs config.FieldErrors
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative")
	}
	if c.Concurrency < 0 {
		errs.Add("concurrency", "must not be negative")
	}
	if c.DownAfter < 0 {
		errs.Add("down_after", "must not be negative")
	}
	if c.UpAfter < 0 {
		errs.Add("up_after", "must not be negative")
	}
	for i, n := range append([]string{c.Platform.Command}, c.Platform.Aliases...) {
		if n != "" && !commandRE.MatchString(strings.ToLower(n)) {
			errs.Add(pathOf("platform", i), "%q: use words of letters, digits and '-'", n)
		}
	}
	for i, n := range append([]string{c.Panic.Command}, c.Panic.Aliases...) {
		if n != "" && !commandRE.MatchString(strings.ToLower(n)) {
			errs.Add(pathOf("panic", i), "%q: use words of letters, digits and '-'", n)
		}
	}
	for i, r := range c.Panic.Rooms {
		if strings.TrimSpace(r) == "" {
			errs.Add(config.Path("panic", "rooms", i), "is empty")
		}
	}
	apps := make([]string, 0, len(c.Apps))
	for name := range c.Apps {
		apps = append(apps, name)
	}
	sort.Strings(apps)
	for _, name := range apps {
		a := c.Apps[name]
		p := config.Path("apps", name)
		if !nameRE.MatchString(name) {
			errs.Add(p, "%q: use lower-case letters, digits, '.', '_' and '-'", name)
		}
		if a == nil {
			continue
		}
		if a.Active != nil {
			errs.Merge(config.JoinPath(p, "active"), a.Active.validate())
			if a.Initial != "" {
				errs.Add(config.JoinPath(p, "initial"), "only for a colour opsbot keeps: this app reads it from `active`")
			}
		}
		if a.Switch != nil {
			errs.Merge(config.JoinPath(p, "switch"), a.Switch.validate())
		}
		roles := c.rolesOf(name)
		if a.Initial != "" && !slices.Contains(roles, strings.ToLower(a.Initial)) {
			errs.Add(config.JoinPath(p, "initial"), "%q is not the role of an instance of %s (roles: %s)", a.Initial, name, strings.Join(roles, ", "))
		}
		if len(roles) < 2 {
			errs.Add(p, "a blue-green app needs instances with at least two roles; %s has %d", name, len(roles))
		}
	}
	seen := map[string]int{}
	for i, in := range c.List {
		p := config.Path("list", i)
		errs.Merge(p, in.validate())
		if j, dup := seen[strings.ToLower(in.Name)]; dup && in.Name != "" {
			errs.Add(config.JoinPath(p, "name"), "%q is also the name of list[%d]", in.Name, j)
		}
		seen[strings.ToLower(in.Name)] = i
	}
	return errs.Err()
}

func pathOf(section string, i int) string {
	if i == 0 {
		return config.Path(section, "command")
	}
	return config.Path(section, "aliases", i-1)
}

// rolesOf lists the roles of an app's instances, lower-case and sorted.
func (c Config) rolesOf(app string) []string {
	var roles []string
	for _, in := range c.List {
		r := strings.ToLower(in.Role)
		if strings.EqualFold(in.App, app) && r != "" && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	return roles
}

func (in Instance) validate() error {
	var errs config.FieldErrors
	switch {
	case in.Name == "":
		errs.Add("name", "is required")
	case !nameRE.MatchString(in.Name):
		errs.Add("name", "%q: use lower-case letters, digits, '.', '_' and '-'", in.Name)
	default:
		if _, isCtx := ContextWords[in.Name]; isCtx {
			errs.Add("name", "%q is a context word; choose another name", in.Name)
		}
	}
	for i, a := range in.Aliases {
		if strings.TrimSpace(a) == "" {
			errs.Add(config.Path("aliases", i), "is empty")
		}
		if _, ctx := ContextWords[strings.ToLower(strings.TrimSpace(a))]; ctx {
			errs.Add(config.Path("aliases", i), "%q is a context word; choose another alias", a)
		}
	}
	for _, k := range []struct{ key, val string }{{"health", in.Health}, {"version", in.Version}, {"tasks", in.Tasks}} {
		if k.val != "" {
			if err := checkURL(k.val); err != nil {
				errs.Add(k.key, "%v", err)
			}
		}
	}
	if in.Restart != nil {
		errs.Merge("restart", in.Restart.validate())
	}
	return errs.Err()
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", redactURL(s))
	}
	return nil
}

func (s *Source) validate() error {
	var errs config.FieldErrors
	switch {
	case s.URL != "" && len(s.Argv) > 0:
		errs.Add("", "give url or argv, not both")
	case s.URL == "" && len(s.Argv) == 0:
		errs.Add("", "give url (the load balancer's endpoint) or argv (a program that prints the colour)")
	case s.URL != "":
		if err := checkURL(s.URL); err != nil {
			errs.Add("url", "%v", err)
		}
	case s.Argv[0] == "":
		errs.Add("argv[0]", "is empty")
	}
	if s.Field != "" && s.URL == "" {
		errs.Add("field", "only with url")
	}
	if s.Timeout < 0 {
		errs.Add("timeout", "must not be negative")
	}
	return errs.Err()
}

func (a *Action) validate() error {
	var errs config.FieldErrors
	n := 0
	if len(a.Argv) > 0 {
		n++
		if a.Argv[0] == "" {
			errs.Add("argv[0]", "is empty")
		}
	}
	if a.HTTP != nil {
		n++
		if err := checkURL(a.HTTP.URL); err != nil {
			errs.Add("http.url", "%v", err)
		}
		if m := strings.ToUpper(a.HTTP.Method); m != "" && !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, m) {
			errs.Add("http.method", "%q is not GET, POST, PUT, PATCH or DELETE", a.HTTP.Method)
		}
	}
	if s := a.Systemd; s != nil {
		n++
		if !hostRE.MatchString(s.Host) {
			errs.Add("systemd.host", "%q is not a host name (HOST or USER@HOST)", s.Host)
		}
		if !unitRE.MatchString(s.Unit) {
			errs.Add("systemd.unit", "%q is not a unit name", s.Unit)
		}
	}
	if k := a.Kubectl; k != nil {
		n++
		if !k8sRE.MatchString(k.Deployment) {
			errs.Add("kubectl.deployment", "%q is not NAME or KIND/NAME", k.Deployment)
		}
		if k.Namespace != "" && !k8sRE.MatchString(k.Namespace) {
			errs.Add("kubectl.namespace", "%q is not a namespace", k.Namespace)
		}
	}
	if n != 1 {
		errs.Add("", "give exactly one of argv, http, systemd or kubectl")
	}
	if a.Timeout < 0 {
		errs.Add("timeout", "must not be negative")
	}
	return errs.Err()
}

// redactURL drops a URL's user info and query, which may hold credentials.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
