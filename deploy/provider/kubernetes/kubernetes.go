// Package kubernetes is the Kubernetes deployment provider: with kubectl
// (argv, never a shell) it sets the deployment's image to the commit being
// deployed — or, without an image template, restarts the rollout — and
// waits for the rollout with `kubectl rollout status`.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/opsbot/opsbot/deploy/provider"
)

// Config is an app's `kubernetes:` block.
type Config struct {
	Kubectl    string `yaml:"kubectl"`    // the kubectl program (default "kubectl" on PATH)
	Context    string `yaml:"context"`    // kubeconfig context (default: current)
	Kubeconfig string `yaml:"kubeconfig"` // kubeconfig file (default: kubectl's)
	Namespace  string `yaml:"namespace"`
	// Deployment is the Deployment's name; {colour} is the colour being
	// deployed under the blue-green provider ("shop-{colour}").
	Deployment string `yaml:"deployment"`
	Container  string `yaml:"container"` // the container whose image is set (default: the deployment's name)
	// Image is the image to set, with {sha}, {short_sha}, {ref} and {env}
	// filled in: "registry.example.com/api:{sha}". Empty: rollout restart.
	Image string `yaml:"image"`
	// RolloutTimeout is how long rollout status waits (default 10m).
	RolloutTimeout time.Duration `yaml:"rollout_timeout"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// Validate checks the block.
func (c *Config) Validate() error {
	if c.Deployment == "" {
		return errors.New("kubernetes.deployment is required")
	}
	for k, v := range map[string]string{"deployment": strings.ReplaceAll(c.Deployment, "{colour}", "x"), "namespace": c.Namespace,
		"container": strings.ReplaceAll(c.Container, "{colour}", "x")} {
		if v != "" && !nameRE.MatchString(v) {
			return fmt.Errorf("kubernetes.%s: %q is not a Kubernetes name", k, v)
		}
	}
	return nil
}

// Provider runs kubectl.
type Provider struct{ cfg Config }

// New returns the provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Kubectl == "" {
		cfg.Kubectl = "kubectl"
	}
	if cfg.Container == "" {
		cfg.Container = cfg.Deployment
	}
	if cfg.RolloutTimeout <= 0 {
		cfg.RolloutTimeout = 10 * time.Minute
	}
	return &Provider{cfg: cfg}, nil
}

// Name is "kubernetes".
func (*Provider) Name() string { return "kubernetes" }

func (p *Provider) base() []string {
	argv := []string{p.cfg.Kubectl}
	if p.cfg.Kubeconfig != "" {
		argv = append(argv, "--kubeconfig", p.cfg.Kubeconfig)
	}
	if p.cfg.Context != "" {
		argv = append(argv, "--context", p.cfg.Context)
	}
	if p.cfg.Namespace != "" {
		argv = append(argv, "--namespace", p.cfg.Namespace)
	}
	return argv
}

var imageRefRE = regexp.MustCompile(`^[A-Za-z0-9._/-]*$`)

// Image is the image for a deployment.
func (p *Provider) Image(req provider.Request) (string, error) {
	short := req.SHA
	if len(short) > 7 {
		short = short[:7]
	}
	for _, v := range []string{req.SHA, req.Ref, req.Env} {
		if !imageRefRE.MatchString(v) {
			return "", fmt.Errorf("%q can't go into an image name", v)
		}
	}
	r := strings.NewReplacer("{sha}", req.SHA, "{short_sha}", short, "{ref}", strings.ReplaceAll(req.Ref, "/", "-"), "{env}", req.Env)
	return r.Replace(p.cfg.Image), nil
}

// Deploy sets the image (or restarts) and waits for the rollout.
func (p *Provider) Deploy(ctx context.Context, req provider.Request, out io.Writer) error {
	colour := req.Extra["DEPLOY_COLOUR"]
	if strings.Contains(p.cfg.Deployment+p.cfg.Container, "{colour}") && !nameRE.MatchString(colour) {
		return fmt.Errorf("kubernetes: %q is not a colour (the deployment name needs one: deploy through the blue-green provider)", colour)
	}
	target := "deployment/" + strings.ReplaceAll(p.cfg.Deployment, "{colour}", colour)
	container := strings.ReplaceAll(p.cfg.Container, "{colour}", colour)
	var first []string
	if p.cfg.Image != "" {
		img, err := p.Image(req)
		if err != nil {
			return err
		}
		first = append(p.base(), "set", "image", target, container+"="+img)
	} else {
		first = append(p.base(), "rollout", "restart", target)
	}
	env := provider.BaseEnv()
	if v, ok := os.LookupEnv("KUBECONFIG"); ok {
		env = append(env, "KUBECONFIG="+v)
	}
	fmt.Fprintf(out, "$ %s\n", strings.Join(first[1:], " "))
	if err := provider.Exec(ctx, provider.Program{Argv: first, Env: env, Started: req.Started}, out); err != nil {
		return err
	}
	status := append(p.base(), "rollout", "status", target, "--timeout="+p.cfg.RolloutTimeout.String())
	fmt.Fprintf(out, "$ %s\n", strings.Join(status[1:], " "))
	return provider.Exec(ctx, provider.Program{Argv: status, Env: env, Started: req.Started}, out)
}
