// Package bluegreen is the blue-green deployment provider: it deploys to
// the inactive colour with another provider, health-checks that colour,
// then switches traffic to it through the fleet module's switch, keeping
// the old colour as it was for a rollback.
package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/opsbot/opsbot/deploy/provider"
)

// Config is an app's `blue_green:` block.
type Config struct {
	// Provider deploys one colour (shell, jenkins, kubernetes…, with its
	// own block in the app).
	Provider string `yaml:"provider"`
	// Colours are the two colours (default blue and green).
	Colours []string `yaml:"colours"`
	// HealthURL is checked before the switch, with {colour} filled in:
	// "https://{colour}.api.internal/health". It must answer 2xx.
	HealthURL string `yaml:"health_url"`
	// HealthTimeout is how long the new colour has to become healthy
	// (default 2m); HealthInterval how often it is asked (default 2s).
	HealthTimeout  time.Duration `yaml:"health_timeout"`
	HealthInterval time.Duration `yaml:"health_interval"`
}

// Validate checks the block.
func (c *Config) Validate() error {
	switch {
	case c.Provider == "":
		return errors.New("blue_green.provider is required (the provider that deploys one colour)")
	case c.Provider == "blue-green":
		return errors.New("blue_green.provider can't be blue-green itself")
	case c.HealthURL == "":
		return errors.New("blue_green.health_url is required")
	case len(c.Colours) != 0 && len(c.Colours) != 2:
		return errors.New("blue_green.colours: exactly two colours")
	}
	return nil
}

// Switch is the fleet module's traffic switch.
type Switch interface {
	ActiveColour(ctx context.Context, app string) (string, error)
	SwitchTo(ctx context.Context, app, colour, by string) error
}

// Provider deploys blue-green.
type Provider struct {
	cfg   Config
	inner provider.Provider
	sw    Switch
	http  *http.Client
}

// New returns the provider deploying each colour with inner and switching with sw.
func New(cfg Config, inner provider.Provider, sw Switch, hc *http.Client) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if inner == nil {
		return nil, errors.New("blue-green: no provider for one colour")
	}
	if len(cfg.Colours) == 0 {
		cfg.Colours = []string{"blue", "green"}
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 2 * time.Minute
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 2 * time.Second
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Provider{cfg: cfg, inner: inner, sw: sw, http: hc}, nil
}

// Name is "blue-green".
func (*Provider) Name() string { return "blue-green" }

// Deploy deploys the inactive colour, checks it, and switches to it.
func (p *Provider) Deploy(ctx context.Context, req provider.Request, out io.Writer) error {
	if p.sw == nil {
		return errors.New("blue-green needs the fleet module's switch, and it is not running")
	}
	active, err := p.sw.ActiveColour(ctx, req.App)
	if err != nil {
		return fmt.Errorf("which colour is live: %w", err)
	}
	target := p.cfg.Colours[0]
	if strings.EqualFold(active, target) {
		target = p.cfg.Colours[1]
	}
	fmt.Fprintf(out, "blue-green: %s is live; deploying %s with %s\n", active, target, p.inner.Name())
	inner := req
	inner.Extra = map[string]string{"DEPLOY_COLOUR": target}
	for k, v := range req.Extra {
		inner.Extra[k] = v
	}
	if err := p.inner.Deploy(ctx, inner, out); err != nil {
		return fmt.Errorf("deploying %s: %w (traffic stays on %s)", target, err, active)
	}
	health := strings.ReplaceAll(p.cfg.HealthURL, "{colour}", target)
	if err := p.healthy(ctx, health, out); err != nil {
		return fmt.Errorf("%s is not healthy: %w (traffic stays on %s)", target, err, active)
	}
	fmt.Fprintf(out, "blue-green: %s is healthy; switching traffic from %s\n", target, active)
	if err := p.sw.SwitchTo(ctx, req.App, target, req.User); err != nil {
		return fmt.Errorf("switching to %s: %w (traffic stays on %s)", target, err, active)
	}
	fmt.Fprintf(out, "blue-green: traffic is on %s; %s is kept as it was for a rollback\n", target, active)
	return nil
}

func (p *Provider) healthy(ctx context.Context, u string, out io.Writer) error {
	deadline := time.NewTimer(p.cfg.HealthTimeout)
	defer deadline.Stop()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := p.http.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		fmt.Fprintf(out, "blue-green: health check %s: %s\n", u, last)
		t := time.NewTimer(p.cfg.HealthInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-deadline.C:
			t.Stop()
			return fmt.Errorf("no healthy answer from %s within %s (last: %s)", u, p.cfg.HealthTimeout, last)
		case <-t.C:
		}
	}
}
