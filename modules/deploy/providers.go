package deploy

import (
	"context"
	"fmt"

	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/provider"
	"github.com/opsbot/opsbot/deploy/provider/bluegreen"
	"github.com/opsbot/opsbot/deploy/provider/githubactions"
	"github.com/opsbot/opsbot/deploy/provider/heroku"
	"github.com/opsbot/opsbot/deploy/provider/jenkins"
	"github.com/opsbot/opsbot/deploy/provider/kubernetes"
	"github.com/opsbot/opsbot/deploy/provider/shell"
)

// ProviderFactory builds the provider named kind for an app.
type ProviderFactory func(app string, a *deploy.App, kind string) (provider.Provider, error)

// provider builds the provider for an app: the test's factory when set.
func (m *Module) provider(app string, a *deploy.App, kind string) (provider.Provider, error) {
	if m.Providers != nil {
		if p, err := m.Providers(app, a, kind); p != nil || err != nil {
			return p, err
		}
	}
	return m.builtinProvider(app, a, kind)
}

func (m *Module) builtinProvider(app string, a *deploy.App, kind string) (provider.Provider, error) {
	switch kind {
	case "shell":
		if a.Shell == nil {
			return nil, fmt.Errorf("provider shell: the app has no shell: block")
		}
		return shell.New(*a.Shell)
	case "jenkins":
		if a.Jenkins == nil {
			return nil, fmt.Errorf("provider jenkins: the app has no jenkins: block")
		}
		return jenkins.New(*a.Jenkins, m.HTTP)
	case "github-actions":
		if a.GitHubActions == nil {
			return nil, fmt.Errorf("provider github-actions: the app has no github_actions: block")
		}
		gh := m.github(a)
		if gh == nil {
			return nil, fmt.Errorf("provider github-actions: the app needs repository and github.token")
		}
		return githubactions.New(*a.GitHubActions, gh, a.Repository)
	case "heroku":
		if a.Heroku == nil {
			return nil, fmt.Errorf("provider heroku: the app has no heroku: block")
		}
		if a.GitURL == "" {
			return nil, fmt.Errorf("provider heroku: the app needs git_url (the source tarball is made from a checkout)")
		}
		return heroku.New(*a.Heroku, m.HTTP)
	case "kubernetes":
		if a.Kubernetes == nil {
			return nil, fmt.Errorf("provider kubernetes: the app has no kubernetes: block")
		}
		return kubernetes.New(*a.Kubernetes)
	case "blue-green":
		if a.BlueGreen == nil {
			return nil, fmt.Errorf("provider blue-green: the app has no blue_green: block")
		}
		if err := a.BlueGreen.Validate(); err != nil {
			return nil, err
		}
		inner, err := m.provider(app, a, a.BlueGreen.Provider)
		if err != nil {
			return nil, fmt.Errorf("provider blue-green: %w", err)
		}
		m.mu.Lock()
		fl := m.fleet
		m.mu.Unlock()
		var sw bluegreen.Switch
		if fl != nil {
			sw = fl
		}
		return bluegreen.New(*a.BlueGreen, inner, sw, m.HTTP)
	}
	return nil, fmt.Errorf("provider %q is not available", kind)
}

// secretsOf are an app's secrets, for the redactor.
func secretsOf(a *deploy.App) []string {
	s := []string{a.GitHub.Token.Reveal()}
	if a.Shell != nil {
		s = append(s, a.Shell.Secrets()...)
	}
	if a.Jenkins != nil {
		s = append(s, a.Jenkins.Secrets()...)
	}
	if a.Heroku != nil {
		s = append(s, a.Heroku.APIKey.Reveal())
	}
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// fleetSwitcher is the fleet module's blue-green switch.
type fleetSwitcher interface {
	ActiveColour(ctx context.Context, app string) (string, error)
	SwitchTo(ctx context.Context, app, colour, by string) error
}

// findFleet looks for the fleet module among the bot's modules.
func (m *Module) findFleet() {
	for _, mod := range m.b.Modules() {
		if f, ok := mod.(fleetSwitcher); ok {
			m.mu.Lock()
			m.fleet = f
			m.mu.Unlock()
			return
		}
	}
}
