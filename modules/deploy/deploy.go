// Package deploy is the deployments module: hubot-deploy's chat grammar
// (`deploy[:task][!] app[/ref] [to env[/hosts]]`, locks, history, rollback,
// deploy-status, auto-deploy), heaven's role (GitHub `deployment` webhooks
// run through the same checks and providers), hubot-auto-deploy (deploy the
// default branch when it turns green) and drift nags (`ok deploy` in the
// nag's thread). Deployments run as jobs of kind "deploy", so a restart
// marks a running one interrupted and frees its slot. See
// docs/deployments.md.
package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/store"
)

// Module is the deployments module.
type Module struct {
	apps deploy.Apps

	h       *bot.Host
	b       *bot.Bot
	st      store.Store
	runner  *jobs.Runner
	log     *slog.Logger
	clock   clock.Clock
	records *deploy.Records
	locks   *deploy.Locks
	auto    *deploy.AutoDeploy
	ingest  func(ctx context.Context, events ...event.Event) ([]event.Stored, error)

	// HTTP is the client for GitHub and the HTTP providers (tests set it).
	HTTP *http.Client
	// Providers builds an app's provider; tests replace it to inject fakes
	// (the blue-green provider's fleet, for one).
	Providers ProviderFactory
	// CacheDir holds the git mirrors (default: the OS cache directory).
	CacheDir string

	mu    sync.Mutex
	gits  map[string]*deploy.Git
	fleet fleetSwitcher
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
	_ bot.Starter      = (*Module)(nil)
)

// New returns the module; its apps come from the config.
func New() *Module { return &Module{HTTP: &http.Client{}, gits: map[string]*deploy.Git{}} }

// NewWithApps returns the module with apps set in code.
func NewWithApps(apps deploy.Apps) *Module {
	m := New()
	m.apps = apps
	return m
}

// Name is "deploy".
func (*Module) Name() string { return "deploy" }

// ConfigSection claims `apps`.
func (m *Module) ConfigSection() (string, any) { return "apps", &m.apps }

// JobKind is the job kind deployments run as.
const JobKind = "deploy"

// Thread kinds.
const (
	threadDeploy = "deploy"     // a deployment's thread: `retry`
	threadNag    = "deploy.nag" // a drift nag's thread: `ok deploy`
)

// Provision declares the types, commands, job kind, API routes and event
// subscriptions. With no app configured it adds nothing.
func (m *Module) Provision(h *bot.Host) error {
	if len(m.apps) == 0 {
		return nil
	}
	if err := m.apps.Validate(); err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	for name, a := range m.apps {
		d := a.WithDefaults()
		m.apps[name] = &d
		if _, err := m.provider(name, &d, d.Provider); err != nil {
			return fmt.Errorf("apps.%s: %w", name, err)
		}
		h.Bot().Redactor().Add(secretsOf(&d)...)
	}
	m.h, m.b, m.st, m.runner, m.log, m.clock = h, h.Bot(), h.Store(), h.Jobs(), h.Logger(), h.Clock()
	m.ingest = h.Ingest
	if m.runner == nil {
		return fmt.Errorf("apps: %w", bot.ErrNoJobs)
	}
	if m.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		m.CacheDir = filepath.Join(dir, "opsbot", "git")
	}
	db := m.st.DB()
	m.records, m.locks, m.auto = deploy.NewRecords(db), deploy.NewLocks(db), deploy.NewAutoDeploy(db)

	if err := h.Type(command.EnumFunc("deploy-app", func(context.Context) ([]string, error) { return m.apps.Names(), nil })); err != nil {
		return err
	}
	if err := h.Type(command.TypeFunc("deploy-task", parseTask)); err != nil {
		return err
	}
	if err := h.Type(envType{m: m}); err != nil {
		return err
	}
	if err := h.Job(jobs.Kind{Name: JobKind, Run: m.runJob, Abandoned: m.abandoned, TellsInterruption: true}); err != nil {
		return err
	}
	for _, s := range m.commands() {
		if err := h.Command(s); err != nil {
			return fmt.Errorf("apps: command %s: %w", s.Name, err)
		}
	}
	h.APIRoute("GET /api/v1/deployments", "deployments:read", http.HandlerFunc(m.apiList))
	h.APIRoute("GET /api/v1/deployments/{id}", "deployments:read", http.HandlerFunc(m.apiGet))
	h.APIRoute("POST /api/v1/deployments", "deployments:write", http.HandlerFunc(m.apiCreate))
	h.Subscribe("deploy.github.deployment", m.onGitHubDeployment)
	h.Subscribe("ci.github.*", m.onCI)
	return nil
}

// Start frees what a stopped opsbot left behind and registers the drift
// nags with the schedules module.
func (m *Module) Start(ctx context.Context) error {
	if len(m.apps) == 0 {
		return nil
	}
	m.sweep(ctx)
	m.findFleet()
	m.registerNags()
	return nil
}

// envType is the `deploy-env` argument type: an environment of any app,
// with the shorthands stg and prod.
type envType struct{ m *Module }

func (envType) Name() string { return "deploy-env" }

func (t envType) Values(context.Context) ([]string, error) { return t.m.allEnvs(), nil }

func (t envType) Parse(_ context.Context, s string) (string, error) {
	env := deploy.NormalizeEnv(s)
	for _, e := range t.m.allEnvs() {
		if e == env {
			return e, nil
		}
	}
	return "", fmt.Errorf("%q is not an environment of any app (known: %s)", s, strings.Join(t.m.allEnvs(), ", "))
}

func (m *Module) allEnvs() []string {
	set := map[string]bool{}
	for _, a := range m.apps {
		for e := range a.Environments {
			set[e] = true
		}
	}
	out := make([]string, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// app returns the named app.
func (m *Module) app(name string) (*deploy.App, bool) {
	a, ok := m.apps[name]
	return a, ok
}

// Apps are the configured apps (after defaults).
func (m *Module) Apps() deploy.Apps { return m.apps }

// parseTask reads the task of `deploy:TASK`: a word that is not one of the
// deploy: commands (lock, unlock, locks).
func parseTask(_ context.Context, s string) (string, error) {
	switch strings.ToLower(s) {
	case "lock", "unlock", "locks":
		return "", fmt.Errorf("%q is a command, not a task", s)
	}
	if !taskRE.MatchString(s) {
		return "", fmt.Errorf("%q is not a task name (letters, digits, '-' and '_')", s)
	}
	return strings.ToLower(s), nil
}

var taskRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
