package deploy

import (
	"context"
	"fmt"

	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/provider"
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
	}
	return nil, fmt.Errorf("provider %q is not available", kind)
}

// secretsOf are an app's secrets, for the redactor.
func secretsOf(a *deploy.App) []string {
	s := []string{a.GitHub.Token.Reveal()}
	if a.Shell != nil {
		s = append(s, a.Shell.Secrets()...)
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
