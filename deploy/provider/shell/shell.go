// Package shell is the shell deployment provider: it runs a program (a
// script in the repository's checkout or on the runner) with the
// deployment in its environment — BRANCH, SHA, DEPLOY_ENV, DEPLOY_TASK,
// DEPLOY_HOSTS… — and streams its output. Capistrano, Fabric and Ansible
// deploy through it (docs/deployments.md). The program is run from argv,
// never through a shell, and chat text only reaches it as environment
// values.
package shell

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy/provider"
)

// Config is an app's `shell:` block.
type Config struct {
	// Command is the program and its arguments; a relative program path is
	// taken in the checkout when the app has one ("script/deploy"). In each
	// argument {app}, {env}, {ref}, {sha}, {task} and {hosts} are replaced
	// by the deployment's values (each stays one argument: there is no shell).
	Command []string `yaml:"command"`
	// Dir is the working directory (default: the checkout, else opsbot's).
	Dir string `yaml:"dir"`
	// Env is added to the environment; values are secrets.
	Env map[string]config.Secret `yaml:"env"`
	// KillGrace is how long the program has between SIGTERM and SIGKILL
	// when a deployment is cancelled or times out (default 5s).
	KillGrace time.Duration `yaml:"kill_grace"`
}

// Validate checks the block.
func (c *Config) Validate() error {
	if c != nil && len(c.Command) == 0 {
		return errors.New("shell.command: the program to run is required")
	}
	return nil
}

// Provider runs the configured program.
type Provider struct{ cfg Config }

// New returns the provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg}, nil
}

// Name is "shell".
func (*Provider) Name() string { return "shell" }

// Deploy runs the program and waits for it.
func (p *Provider) Deploy(ctx context.Context, req provider.Request, out io.Writer) error {
	env := append(provider.BaseEnv(), req.Environ()...)
	keys := make([]string, 0, len(p.cfg.Env))
	for k := range p.cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+p.cfg.Env[k].Reveal())
	}
	dir := p.cfg.Dir
	if dir == "" {
		dir = req.Dir
	}
	r := strings.NewReplacer("{app}", req.App, "{env}", req.Env, "{ref}", req.Ref, "{sha}", req.SHA, "{task}", req.Task, "{hosts}", req.Hosts)
	argv := make([]string, len(p.cfg.Command))
	for i, a := range p.cfg.Command {
		argv[i] = r.Replace(a)
	}
	return provider.Exec(ctx, provider.Program{
		Argv: argv, Env: env, Dir: dir, Grace: p.cfg.KillGrace, Started: req.Started,
	}, out)
}

// Secrets are the values to mask in logs and chat.
func (c *Config) Secrets() []string {
	var s []string
	for _, v := range c.Env {
		s = append(s, v.Reveal())
	}
	return s
}
