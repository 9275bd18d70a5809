package scripts

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/config"
)

// Defaults of a command's settings.
const (
	DefaultTimeout        = 5 * time.Minute
	DefaultKillGrace      = 5 * time.Second
	DefaultMaxBytes       = 64 << 10
	DefaultStreamInterval = 2 * time.Second
	MinStreamInterval     = 500 * time.Millisecond
)

// Commands is the `commands` section: config-defined commands.
type Commands []Command

// Command is one config-defined command: a grammar and what to run, a
// program (Argv) or an HTTP request (HTTP).
type Command struct {
	// Name identifies the command in help, audit, metrics and job records,
	// and is its default permission.
	Name    string `yaml:"name"`
	Grammar string `yaml:"grammar"`
	Help    string `yaml:"help"`

	// Argv is the program and its arguments, each a template with {arg}
	// placeholders; each element is exactly one argument. No shell.
	Argv []string `yaml:"argv"`
	// HTTP is a request to send instead of running a program.
	HTTP *HTTPAction `yaml:"http"`

	// Env is added to the program's environment. Values are secrets: they
	// are masked wherever they would show.
	Env map[string]config.Secret `yaml:"env"`
	// Dir is the working directory (default: opsbot's).
	Dir string `yaml:"dir"`
	// Timeout bounds a run (default 5m); the program's whole process group
	// is then killed.
	Timeout time.Duration `yaml:"timeout"`
	// KillGrace is how long the process group has between SIGTERM and
	// SIGKILL (default 5s).
	KillGrace time.Duration `yaml:"kill_grace"`
	Output    Output        `yaml:"output"`

	// Permission needed to run it (default: the command's name); it may
	// name arguments, "toydb:{env}". "none" needs no permission: with
	// side_effects false, anyone may run the command.
	Permission string `yaml:"permission"`
	// SideEffects (default true) closes the command to guests and to
	// users no rule allows.
	SideEffects *bool   `yaml:"side_effects"`
	Confirm     Confirm `yaml:"confirm"`
	// Secret names arguments whose values are masked in the audit log,
	// logs and replies (a password or token typed in chat).
	Secret []string `yaml:"secret"`
	// Concurrency is how many runs of the command may be under way at
	// once (default 1); more are refused with "already running".
	Concurrency int `yaml:"concurrency"`

	// Background runs the command as a durable job.
	Background bool `yaml:"background"`
	// Resumable (background only) runs the job again after a restart
	// interrupted it, instead of marking it interrupted.
	Resumable bool `yaml:"resumable"`
	// Reply says where the result goes.
	Reply Reply `yaml:"reply"`
	// StreamInterval throttles the output posted while a background job
	// runs (default 2s).
	StreamInterval time.Duration `yaml:"stream_interval"`
}

// HTTPAction is a request a command sends.
type HTTPAction struct {
	// Method defaults to GET, or POST when there is a body.
	Method string `yaml:"method"`
	// URL is a template: values are path-escaped before the "?" and
	// query-escaped after it; the scheme and host are fixed.
	URL string `yaml:"url"`
	// Headers are secrets (masked wherever they would show); values may
	// hold placeholders.
	Headers map[string]config.Secret `yaml:"headers"`
	// ContentType of the body, when there is one (default: JSON when the
	// body looks like JSON, else text/plain).
	ContentType string `yaml:"content_type"`
	// Body is a template: values are JSON-escaped in a JSON body and
	// form-escaped in a form body.
	Body string `yaml:"body"`
}

// Output says how much output is kept in replies and how it is shown.
type Output struct {
	// MaxBytes of output in a reply, the tail (default 64 KiB); the full
	// output is in the job's log.
	MaxBytes int `yaml:"max_bytes"`
	// As is "code" (a code block, the default) or "text".
	As string `yaml:"as"`
}

// Confirm is when a command asks for confirmation: "always", "never" (the
// default) or {when: {ARG: [VALUES]}}, when an argument has one of the values.
type Confirm struct {
	Mode string // "never", "always" or "when"
	When map[string][]string
}

// UnmarshalYAML reads the scalar or mapping form.
func (c *Confirm) UnmarshalYAML(n *yaml.Node) error {
	const want = "want always, never or {when: {ARG: [VALUES]}}"
	switch n.Kind {
	case yaml.ScalarNode:
		switch strings.ToLower(n.Value) {
		case "always", "true", "yes", "on":
			c.Mode = "always"
		case "never", "false", "no", "off", "":
			c.Mode = "never"
		default:
			return config.Errorf("", "%s, not %q", want, n.Value)
		}
		return nil
	case yaml.MappingNode:
		var errs config.FieldErrors
		when := map[string][]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value != "when" {
				errs.Add(k.Value, "unknown key (%s)", want)
				continue
			}
			if v.Kind != yaml.MappingNode {
				errs.Add("when", "want a mapping of argument names to lists of values")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				arg, vals := v.Content[j].Value, v.Content[j+1]
				switch vals.Kind {
				case yaml.ScalarNode:
					when[arg] = []string{vals.Value}
				case yaml.SequenceNode:
					for _, x := range vals.Content {
						if x.Kind != yaml.ScalarNode {
							errs.Add(config.Path("when", arg), "want a list of values")
							break
						}
						when[arg] = append(when[arg], x.Value)
					}
				default:
					errs.Add(config.Path("when", arg), "want a value or a list of values")
				}
			}
		}
		if len(errs) == 0 && len(when) == 0 {
			errs.Add("when", "names no argument")
		}
		if err := errs.Err(); err != nil {
			return err
		}
		c.Mode, c.When = "when", when
		return nil
	}
	return config.Errorf("", "%s", want)
}

// policy is the command engine's form of c.
func (c Confirm) policy() command.Policy {
	switch c.Mode {
	case "always":
		return command.Policy{Mode: command.ConfirmAlways}
	case "when":
		when := c.When
		return command.Policy{Mode: command.ConfirmWhen, When: func(args command.Args) bool {
			for arg, vals := range when {
				for _, v := range vals {
					if strings.EqualFold(args[arg], v) {
						return true
					}
				}
			}
			return false
		}}
	}
	return command.Policy{}
}

// Reply is where a command's result goes: "room" (the room it was given
// in, the default), "thread" (a thread under the request) or {room: NAME}
// (another room; "NAME" on the same chat, or "adapter:ID").
type Reply struct {
	Mode string // "room", "thread" or "other"
	Room string // for "other"
}

// UnmarshalYAML reads the scalar or mapping form.
func (r *Reply) UnmarshalYAML(n *yaml.Node) error {
	const want = "want room, thread or {room: NAME}"
	switch n.Kind {
	case yaml.ScalarNode:
		switch strings.ToLower(n.Value) {
		case "room", "":
			r.Mode = "room"
		case "thread":
			r.Mode = "thread"
		default:
			return config.Errorf("", "%s, not %q", want, n.Value)
		}
		return nil
	case yaml.MappingNode:
		var errs config.FieldErrors
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value != "room" {
				errs.Add(k.Value, "unknown key (%s)", want)
				continue
			}
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				errs.Add("room", "want a room name")
				continue
			}
			r.Mode, r.Room = "other", strings.TrimSpace(v.Value)
		}
		if len(errs) == 0 && r.Room == "" {
			errs.Add("", "%s", want)
		}
		return errs.Err()
	}
	return config.Errorf("", "%s", want)
}

// builtins are the placeholders every command has.
var builtins = []string{"user", "room", "job"}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	envRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	headerRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// Validate checks every command; problems name their path
// ("[2].timeout", which the loader places under commands).
func (cs Commands) Validate() error {
	var errs config.FieldErrors
	seen := map[string]int{}
	for i, c := range cs {
		errs.Merge(config.Path(i), c.validate())
		if c.Name == "" {
			continue
		}
		if j, dup := seen[c.Name]; dup {
			errs.Add(config.Path(i, "name"), "%q is also the name of commands[%d]", c.Name, j)
			continue
		}
		seen[c.Name] = i
	}
	return errs.Err()
}

func (c Command) validate() error {
	var errs config.FieldErrors
	switch {
	case c.Name == "":
		errs.Add("name", "is required")
	case !nameRE.MatchString(c.Name):
		errs.Add("name", "%q: use lower-case letters, digits, '.', '_' and '-'", c.Name)
	}
	known := map[string]bool{}
	for _, b := range builtins {
		known[b] = true
	}
	grammarOK := false
	if c.Grammar == "" {
		errs.Add("grammar", "is required")
	} else if g, err := command.Compile(c.Grammar); err != nil {
		errs.Add("grammar", "%v", err)
	} else {
		grammarOK = true
		params := g.Params()
		for _, p := range params {
			if known[p.Name] {
				errs.Add("grammar", "argument {%s} hides the built-in {%s} placeholder; give it another name", p.Name, p.Name)
			}
		}
		for _, p := range params {
			known[p.Name] = true
		}
	}

	switch {
	case len(c.Argv) == 0 && c.HTTP == nil:
		errs.Add("", "give argv (a program to run) or http (a request to send)")
	case len(c.Argv) > 0 && c.HTTP != nil:
		errs.Add("", "give argv or http, not both")
	case len(c.Argv) > 0:
		c.validateArgv(&errs, known, grammarOK)
	default:
		c.HTTP.validate(&errs, known, grammarOK)
	}

	for name := range c.Env {
		if !envRE.MatchString(name) {
			errs.Add(config.Path("env", name), "is not a valid environment variable name")
		} else if strings.HasPrefix(name, "OPSBOT_") {
			errs.Add(config.Path("env", name), "OPSBOT_ variables are set by opsbot")
		}
	}
	if c.Dir != "" {
		if fi, err := os.Stat(c.Dir); err != nil {
			errs.Add("dir", "%s does not exist", c.Dir)
		} else if !fi.IsDir() {
			errs.Add("dir", "%s is not a directory", c.Dir)
		}
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative")
	}
	if c.KillGrace < 0 {
		errs.Add("kill_grace", "must not be negative")
	}
	if c.Output.MaxBytes < 0 {
		errs.Add("output.max_bytes", "must not be negative")
	}
	switch c.Output.As {
	case "", "code", "text":
	default:
		errs.Add("output.as", "%q: want code or text", c.Output.As)
	}
	if c.Concurrency < 0 {
		errs.Add("concurrency", "must not be negative")
	}
	if c.Resumable && !c.Background {
		errs.Add("resumable", "only a background command can be resumable")
	}
	if c.StreamInterval != 0 && c.StreamInterval < MinStreamInterval {
		errs.Add("stream_interval", "must be at least %s (chats limit how fast a bot may post)", MinStreamInterval)
	}
	if grammarOK {
		for arg := range c.Confirm.When {
			if !known[arg] || isBuiltin(arg) {
				errs.Add(config.Path("confirm", "when", arg), "is not an argument of the grammar")
			}
		}
	}
	return errs.Err()
}

func isBuiltin(name string) bool {
	for _, b := range builtins {
		if b == name {
			return true
		}
	}
	return false
}

func (c Command) validateArgv(errs *config.FieldErrors, known map[string]bool, checkNamesToo bool) {
	for i, a := range c.Argv {
		t := parseTemplate(a)
		if i == 0 {
			if len(t.names()) > 0 {
				errs.Add(config.Path("argv", 0), "the program must be fixed: no placeholders in argv[0]")
				continue
			}
			if a == "" {
				errs.Add(config.Path("argv", 0), "is empty")
				continue
			}
			if err := checkProgram(a, c.Dir); err != nil {
				errs.Add(config.Path("argv", 0), "%v", err)
			}
			continue
		}
		if checkNamesToo {
			if err := checkNames(t, known); err != nil {
				errs.Add(config.Path("argv", i), "%v", err)
			}
		}
	}
}

// checkProgram checks that argv[0] names an executable: a path (relative to
// dir when relative) or a name found in PATH.
func checkProgram(prog, dir string) error {
	if !strings.Contains(prog, "/") {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Errorf("%s is not found in PATH", prog)
		}
		return nil
	}
	path := prog
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s does not exist", path)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

func (h *HTTPAction) validate(errs *config.FieldErrors, known map[string]bool, checkNamesToo bool) {
	if h.Method != "" && !headerRE.MatchString(h.Method) {
		errs.Add("http.method", "%q is not an HTTP method", h.Method)
	}
	if h.URL == "" {
		errs.Add("http.url", "is required")
	} else {
		t := parseTemplate(h.URL)
		scheme, rest, ok := strings.Cut(h.URL, "://")
		hostEnd := strings.IndexAny(rest, "/?#")
		if hostEnd < 0 {
			hostEnd = len(rest)
		}
		switch {
		case !ok || (scheme != "http" && scheme != "https"):
			errs.Add("http.url", "must start with http:// or https://")
		case strings.ContainsAny(rest[:hostEnd], "{}"):
			errs.Add("http.url", "the host must be fixed: no placeholders before the path")
		case rest[:hostEnd] == "":
			errs.Add("http.url", "has no host")
		default:
			probe := map[string]string{}
			for _, n := range t.names() {
				probe[n] = "x"
			}
			if _, err := url.Parse(expandURL(t, probe)); err != nil {
				errs.Add("http.url", "is not a valid URL template")
			} else if checkNamesToo {
				if err := checkNames(t, known); err != nil {
					errs.Add("http.url", "%v", err)
				}
			}
		}
	}
	names := make([]string, 0, len(h.Headers))
	for name := range h.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !headerRE.MatchString(name) {
			errs.Add(config.Path("http", "headers", name), "is not a valid header name")
			continue
		}
		if checkNamesToo {
			if err := checkNames(parseTemplate(h.Headers[name].Reveal()), known); err != nil {
				errs.Add(config.Path("http", "headers", name), "%v", err)
			}
		}
	}
	if checkNamesToo && h.Body != "" {
		if err := checkNames(parseTemplate(h.Body), known); err != nil {
			errs.Add("http.body", "%v", err)
		}
	}
}

// method is the request method, defaulted.
func (h *HTTPAction) method() string {
	switch {
	case h.Method != "":
		return strings.ToUpper(h.Method)
	case h.Body != "":
		return http.MethodPost
	}
	return http.MethodGet
}

// contentType is the body's type, defaulted.
func (h *HTTPAction) contentType() string {
	if h.ContentType != "" {
		return h.ContentType
	}
	for name, v := range h.Headers {
		if strings.EqualFold(name, "Content-Type") {
			return v.Reveal()
		}
	}
	if b := strings.TrimSpace(h.Body); strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[") {
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}

// withDefaults returns c with its defaults filled in.
func (c Command) withDefaults() Command {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.KillGrace == 0 {
		c.KillGrace = DefaultKillGrace
	}
	if c.Output.MaxBytes == 0 {
		c.Output.MaxBytes = DefaultMaxBytes
	}
	if c.Output.As == "" {
		c.Output.As = "code"
	}
	switch c.Permission {
	case "":
		c.Permission = c.Name
	case "none":
		c.Permission = ""
	}
	if c.SideEffects == nil {
		yes := true
		c.SideEffects = &yes
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.Reply.Mode == "" {
		c.Reply.Mode = "room"
	}
	if c.StreamInterval == 0 {
		c.StreamInterval = DefaultStreamInterval
	}
	return c
}
