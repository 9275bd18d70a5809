// Package deploy is opsbot's deployments: the apps configuration, the
// deployment records and their one-at-a-time slots, environment locks,
// the checks run before a deployment starts, git inspection with the real
// git binary, and a client for the GitHub REST API (deployments, statuses,
// checks, compare, merges). Providers, the programs and services that do
// the deploying, live in deploy/provider/*; the chat commands in
// modules/deploy. See docs/deployments.md.
package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy/provider/bluegreen"
	"github.com/opsbot/opsbot/deploy/provider/githubactions"
	"github.com/opsbot/opsbot/deploy/provider/heroku"
	"github.com/opsbot/opsbot/deploy/provider/jenkins"
	"github.com/opsbot/opsbot/deploy/provider/kubernetes"
	"github.com/opsbot/opsbot/deploy/provider/shell"
)

// Defaults of an app's settings.
const (
	DefaultEnvironment = "production"
	DefaultBranch      = "main"
	DefaultTimeout     = 30 * time.Minute
	DefaultProvider    = "shell"
)

// Apps is the `apps:` section: the deployable apps by name. It is a superset
// of hubot-deploy's apps.json (`opsbot apps import` converts one).
type Apps map[string]*App

// App is one deployable app.
type App struct {
	// Repository is the GitHub repository, "owner/name".
	Repository string `yaml:"repository"`
	// GitURL is where git fetches the repository from (a path, file://,
	// git://, ssh or https URL); without it, history questions go to GitHub.
	GitURL string `yaml:"git_url"`
	// Provider is what deploys it: shell, jenkins, github-actions, heroku,
	// kubernetes or blue-green (default shell).
	Provider string `yaml:"provider"`
	// DefaultBranch is the branch deployed when no ref is given (default main).
	DefaultBranch string `yaml:"default_branch"`
	// DefaultEnvironment is the environment deployed to when none is given
	// (default production, as hubot-deploy).
	DefaultEnvironment string `yaml:"default_environment"`
	// Environments are where it may be deployed, by name.
	Environments map[string]*Environment `yaml:"environments"`
	// RequiredContexts are commit statuses or check runs that must be green
	// on the commit being deployed (`deploy!` skips the check).
	RequiredContexts []string `yaml:"required_contexts"`
	// AutoMerge merges the default branch into a branch that is behind it
	// (through GitHub) instead of refusing.
	AutoMerge bool `yaml:"auto_merge"`
	// AllowedRooms, when set, are the only rooms it may be deployed from
	// ("#ops" or "adapter:id").
	AllowedRooms []string `yaml:"allowed_rooms"`
	// Room is where its deployments are announced when they did not start in
	// a room (webhooks, auto-deploys, the API), and where drift nags go.
	Room string `yaml:"room"`
	// Timeout bounds one deployment (default 30m).
	Timeout time.Duration `yaml:"timeout"`
	// AutoDeploy lists the environments deployed automatically when the
	// default branch turns green (chat can switch them on and off).
	AutoDeploy []string `yaml:"auto_deploy"`
	// DriftCheck is when to nag about environments behind the default
	// branch, in the schedules grammar ("every weekday at 9:30"); empty: never.
	DriftCheck string `yaml:"drift_check"`
	// GitHub is how to reach the repository on GitHub; without a token the
	// deployments are not mirrored there.
	GitHub GitHub `yaml:"github"`

	// Checkout gives the provider a checkout of the commit being deployed
	// (made with git from GitURL), for a deploy script kept in the repository.
	Checkout bool `yaml:"checkout"`

	// Provider settings, one block per provider.
	Shell         *shell.Config         `yaml:"shell"`
	Jenkins       *jenkins.Config       `yaml:"jenkins"`
	GitHubActions *githubactions.Config `yaml:"github_actions"`
	Heroku        *heroku.Config        `yaml:"heroku"`
	Kubernetes    *kubernetes.Config    `yaml:"kubernetes"`
	BlueGreen     *bluegreen.Config     `yaml:"blue_green"`
}

// Environment is one place an app is deployed.
type Environment struct {
	// URL is shown when a deployment succeeds and sent to GitHub.
	URL string `yaml:"url"`
	// Hosts are the hosts a deployment may be narrowed to (`to production/web1`).
	Hosts []string `yaml:"hosts"`
	// Room is where its deployments and nags are announced (default: the app's).
	Room string `yaml:"room"`
	// Production marks an environment whose deployments need
	// deploy:production-like care (informational: the permission is always
	// deploy:<env>).
	Production bool `yaml:"production"`
}

// GitHub is an app's GitHub access.
type GitHub struct {
	Token  config.Secret `yaml:"token"`
	APIURL string        `yaml:"api_url"` // default https://api.github.com
}

// Shorthands are environment abbreviations typed in chat.
var Shorthands = map[string]string{"prod": "production", "stg": "staging", "stag": "staging"}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Providers are the provider names an app may use.
var Providers = []string{"shell", "jenkins", "github-actions", "heroku", "kubernetes", "blue-green"}

// WithDefaults returns the app with defaults filled in.
func (a App) WithDefaults() App {
	if a.Provider == "" {
		a.Provider = DefaultProvider
	}
	if a.DefaultBranch == "" {
		a.DefaultBranch = DefaultBranch
	}
	if a.DefaultEnvironment == "" {
		a.DefaultEnvironment = DefaultEnvironment
	}
	if a.Timeout <= 0 {
		a.Timeout = DefaultTimeout
	}
	if a.GitHub.APIURL == "" {
		a.GitHub.APIURL = "https://api.github.com"
	}
	return a
}

// Validate checks the section; errors name the app and the key.
func (as Apps) Validate() error {
	var errs []error
	for _, name := range as.Names() {
		a := as[name]
		bad := func(key, format string, args ...any) {
			errs = append(errs, fmt.Errorf("apps.%s.%s: %s", name, key, fmt.Sprintf(format, args...)))
		}
		if !nameRE.MatchString(name) {
			bad("", "an app name is letters, digits, '.', '_' and '-'")
		}
		if a == nil {
			bad("", "empty app")
			continue
		}
		d := a.WithDefaults()
		if !contains(Providers, d.Provider) {
			bad("provider", "unknown provider %q (known: %s)", d.Provider, strings.Join(Providers, ", "))
		}
		if a.Repository != "" && strings.Count(a.Repository, "/") != 1 {
			bad("repository", "%q is not owner/name", a.Repository)
		}
		if len(a.Environments) == 0 {
			bad("environments", "at least one environment is required")
		}
		for env := range a.Environments {
			if !nameRE.MatchString(env) {
				bad("environments."+env, "an environment name is letters, digits, '.', '_' and '-'")
			}
			if _, short := Shorthands[env]; short {
				bad("environments."+env, "%q is a shorthand for %s; name the environment %s", env, Shorthands[env], Shorthands[env])
			}
		}
		if _, ok := a.Environments[d.DefaultEnvironment]; !ok && len(a.Environments) > 0 {
			bad("default_environment", "%q is not one of its environments (%s)", d.DefaultEnvironment, strings.Join(a.EnvNames(), ", "))
		}
		for _, env := range a.AutoDeploy {
			if _, ok := a.Environments[env]; !ok {
				bad("auto_deploy", "%q is not one of its environments", env)
			}
		}
		if (len(a.RequiredContexts) > 0 || a.AutoMerge) && (a.Repository == "" || a.GitHub.Token.Reveal() == "") {
			bad("required_contexts", "required_contexts and auto_merge need repository and github.token")
		}
		if a.DriftCheck != "" && a.GitURL == "" && (a.Repository == "" || a.GitHub.Token.Reveal() == "") {
			bad("drift_check", "a drift check needs git_url, or repository and github.token")
		}
	}
	return errors.Join(errs...)
}

// Names are the apps' names, sorted.
func (as Apps) Names() []string {
	names := make([]string, 0, len(as))
	for n := range as {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EnvNames are the app's environments, sorted.
func (a *App) EnvNames() []string {
	names := make([]string, 0, len(a.Environments))
	for n := range a.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NormalizeEnv turns a shorthand into the environment's name.
func NormalizeEnv(env string) string {
	env = strings.ToLower(env)
	if full, ok := Shorthands[env]; ok {
		return full
	}
	return env
}

// EnvRoom is where an environment's deployments are announced: its room,
// else the app's.
func (a *App) EnvRoom(env string) string {
	if e := a.Environments[env]; e != nil && e.Room != "" {
		return e.Room
	}
	return a.Room
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
