// Package jenkins is the Jenkins deployment provider: it triggers a
// parameterised job remotely (with the CSRF crumb when Jenkins asks for
// one), follows the queue item to its build, streams the build's console
// with progressiveText, and reports the build's result. Cancelling the
// deployment stops the build.
package jenkins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy/provider"
)

// Config is an app's `jenkins:` block.
type Config struct {
	URL  string `yaml:"url"` // https://ci.example.com
	Job  string `yaml:"job"` // "deploy-api", or "folder/job/deploy-api"
	User string `yaml:"user"`
	// APIToken is the user's API token (HTTP basic auth).
	APIToken config.Secret `yaml:"api_token"`
	// BuildToken is the job's "Trigger builds remotely" token, if set.
	BuildToken config.Secret `yaml:"build_token"`
	// Parameters are sent with the deployment's own (BRANCH, SHA,
	// DEPLOY_ENV, DEPLOY_TASK, DEPLOY_HOSTS, DEPLOY_USER, DEPLOY_ID).
	Parameters   map[string]string `yaml:"parameters"`
	PollInterval time.Duration     `yaml:"poll_interval"` // default 2s
}

// Validate checks the block.
func (c *Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("jenkins.url is required")
	case c.Job == "":
		return errors.New("jenkins.job is required")
	}
	if _, err := url.Parse(c.URL); err != nil {
		return fmt.Errorf("jenkins.url: %w", err)
	}
	return nil
}

// Secrets are the values to mask.
func (c *Config) Secrets() []string { return []string{c.APIToken.Reveal(), c.BuildToken.Reveal()} }

// Provider triggers and follows Jenkins builds.
type Provider struct {
	cfg  Config
	http *http.Client
}

// New returns the provider.
func New(cfg Config, hc *http.Client) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	return &Provider{cfg: cfg, http: hc}, nil
}

// Name is "jenkins".
func (*Provider) Name() string { return "jenkins" }

func (p *Provider) do(ctx context.Context, method, u string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if p.cfg.User != "" {
		req.SetBasicAuth(p.cfg.User, p.cfg.APIToken.Reveal())
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jenkins %s %s: %w", method, redact(u), err)
	}
	return resp, nil
}

func redact(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	pu.RawQuery = ""
	return pu.String()
}

func (p *Provider) getJSON(ctx context.Context, u string, out any) error {
	resp, err := p.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jenkins GET %s: %s", redact(u), resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// crumb returns the CSRF crumb header, none when Jenkins has no crumb issuer.
func (p *Provider) crumb(ctx context.Context) (http.Header, error) {
	var c struct {
		Crumb             string `json:"crumb"`
		CrumbRequestField string `json:"crumbRequestField"`
	}
	resp, err := p.do(ctx, http.MethodGet, p.cfg.URL+"/crumbIssuer/api/json", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return http.Header{}, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jenkins crumb: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return nil, fmt.Errorf("jenkins crumb: %w", err)
	}
	h := http.Header{}
	h.Set(c.CrumbRequestField, c.Crumb)
	return h, nil
}

func jobPath(job string) string {
	parts := strings.Split(strings.Trim(job, "/"), "/job/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return "/job/" + strings.Join(parts, "/job/")
}

// Deploy triggers the job and follows it to its result.
func (p *Provider) Deploy(ctx context.Context, req provider.Request, out io.Writer) error {
	hdr, err := p.crumb(ctx)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range p.cfg.Parameters {
		q.Set(k, v)
	}
	for _, kv := range req.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		q.Set(k, v)
	}
	if t := p.cfg.BuildToken.Reveal(); t != "" {
		q.Set("token", t)
	}
	trigger := p.cfg.URL + jobPath(p.cfg.Job) + "/buildWithParameters?" + q.Encode()
	resp, err := p.do(ctx, http.MethodPost, trigger, hdr)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jenkins: triggering %s answered %s", p.cfg.Job, resp.Status)
	}
	queue := resp.Header.Get("Location")
	if queue == "" {
		return errors.New("jenkins: the trigger answered without a queue item (Location)")
	}
	fmt.Fprintf(out, "jenkins: %s queued (%s)\n", p.cfg.Job, redact(queue))
	build, err := p.waitBuild(ctx, strings.TrimSuffix(queue, "/")+"/api/json")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "jenkins: build %s\n", build)
	if err := p.follow(ctx, build, out); err != nil {
		if ctx.Err() != nil {
			p.stop(build, hdr)
		}
		return err
	}
	var res struct {
		Result   string `json:"result"`
		Building bool   `json:"building"`
	}
	for {
		if err := p.getJSON(ctx, build+"api/json", &res); err != nil {
			if ctx.Err() != nil {
				p.stop(build, hdr)
			}
			return err
		}
		if !res.Building && res.Result != "" {
			break
		}
		if err := p.sleep(ctx); err != nil {
			p.stop(build, hdr)
			return err
		}
	}
	if res.Result != "SUCCESS" {
		return fmt.Errorf("jenkins build %s ended %s", build, res.Result)
	}
	return nil
}

// waitBuild follows the queue item until it has a build, and returns the build's URL.
func (p *Provider) waitBuild(ctx context.Context, item string) (string, error) {
	for {
		var qi struct {
			Cancelled  bool   `json:"cancelled"`
			Why        string `json:"why"`
			Executable *struct {
				Number int    `json:"number"`
				URL    string `json:"url"`
			} `json:"executable"`
		}
		if err := p.getJSON(ctx, item, &qi); err != nil {
			return "", err
		}
		if qi.Cancelled {
			return "", errors.New("jenkins: the queued build was cancelled")
		}
		if qi.Executable != nil && qi.Executable.URL != "" {
			u := qi.Executable.URL
			if !strings.HasSuffix(u, "/") {
				u += "/"
			}
			return u, nil
		}
		if err := p.sleep(ctx); err != nil {
			return "", err
		}
	}
}

// follow streams the console until Jenkins says there is no more.
func (p *Provider) follow(ctx context.Context, build string, out io.Writer) error {
	start := 0
	for {
		resp, err := p.do(ctx, http.MethodGet, build+"logText/progressiveText?start="+strconv.Itoa(start), nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("jenkins console: %s", resp.Status)
		}
		_, err = io.Copy(out, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if n, err := strconv.Atoi(resp.Header.Get("X-Text-Size")); err == nil {
			start = n
		}
		if resp.Header.Get("X-More-Data") != "true" {
			return nil
		}
		if err := p.sleep(ctx); err != nil {
			return err
		}
	}
}

func (p *Provider) sleep(ctx context.Context) error {
	t := time.NewTimer(p.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// stop asks Jenkins to abort the build (best effort, on its own deadline).
func (p *Provider) stop(build string, hdr http.Header) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if resp, err := p.do(ctx, http.MethodPost, build+"stop", hdr); err == nil {
		resp.Body.Close()
	}
}
