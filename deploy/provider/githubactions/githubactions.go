// Package githubactions is the GitHub Actions deployment provider: it
// dispatches a workflow (workflow_dispatch) with the deployment as inputs,
// finds the run the dispatch created, and follows it to its conclusion.
package githubactions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/deploy/provider"
)

// Config is an app's `github_actions:` block; the app's repository and
// github token are used.
type Config struct {
	// Workflow is the workflow file name ("deploy.yml") or ID.
	Workflow string `yaml:"workflow"`
	// Ref is the branch or tag whose workflow file runs (default: the
	// deployment's ref).
	Ref string `yaml:"ref"`
	// Inputs are added to the deployment's (environment, ref, sha, task,
	// hosts, deployment_id, user).
	Inputs       map[string]string `yaml:"inputs"`
	PollInterval time.Duration     `yaml:"poll_interval"` // default 5s
}

// Validate checks the block.
func (c *Config) Validate() error {
	if c.Workflow == "" {
		return errors.New("github_actions.workflow is required")
	}
	return nil
}

// API sends a request to GitHub's REST API, decoding the JSON answer into
// out (deploy.GitHubClient implements it).
type API interface {
	Do(ctx context.Context, method, path string, body, out any) (int, error)
}

// Provider dispatches and follows workflow runs.
type Provider struct {
	cfg  Config
	gh   API
	repo string
	now  func() time.Time
}

// New returns the provider for repo ("owner/name") through gh.
func New(cfg Config, gh API, repo string) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if gh == nil || repo == "" {
		return nil, errors.New("github-actions needs the app's repository and github.token")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	return &Provider{cfg: cfg, gh: gh, repo: repo, now: time.Now}, nil
}

// Name is "github-actions".
func (*Provider) Name() string { return "github-actions" }

type run struct {
	ID         int64     `json:"id"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion"`
	HTMLURL    string    `json:"html_url"`
	HeadSHA    string    `json:"head_sha"`
	CreatedAt  time.Time `json:"created_at"`
}

func (p *Provider) path(parts ...string) string {
	owner, name, _ := cut(p.repo)
	s := "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name) + "/actions"
	for _, x := range parts {
		s += "/" + x
	}
	return s
}

func cut(repo string) (string, string, bool) {
	for i := 0; i < len(repo); i++ {
		if repo[i] == '/' {
			return repo[:i], repo[i+1:], true
		}
	}
	return repo, "", false
}

// Deploy dispatches the workflow and follows its run.
func (p *Provider) Deploy(ctx context.Context, req provider.Request, out io.Writer) error {
	ref := p.cfg.Ref
	if ref == "" {
		ref = req.Ref
	}
	inputs := map[string]string{}
	for k, v := range p.cfg.Inputs {
		inputs[k] = v
	}
	inputs["environment"], inputs["ref"], inputs["sha"], inputs["task"] = req.Env, req.Ref, req.SHA, req.Task
	inputs["hosts"], inputs["deployment_id"], inputs["user"] = req.Hosts, strconv.FormatInt(req.ID, 10), req.User
	// Runs created from a second before the dispatch on are candidates
	// (GitHub's timestamps are whole seconds).
	since := p.now().Add(-time.Second).Truncate(time.Second)
	wf := url.PathEscape(p.cfg.Workflow)
	if _, err := p.gh.Do(ctx, http.MethodPost, p.path("workflows", wf, "dispatches"), map[string]any{"ref": ref, "inputs": inputs}, nil); err != nil {
		return fmt.Errorf("dispatch %s: %w", p.cfg.Workflow, err)
	}
	fmt.Fprintf(out, "github-actions: dispatched %s on %s\n", p.cfg.Workflow, ref)
	var cur run
	for cur.ID == 0 {
		var list struct {
			WorkflowRuns []run `json:"workflow_runs"`
		}
		q := url.Values{"event": {"workflow_dispatch"}, "branch": {ref}, "per_page": {"20"}}
		if _, err := p.gh.Do(ctx, http.MethodGet, p.path("workflows", wf, "runs")+"?"+q.Encode(), nil, &list); err != nil {
			return fmt.Errorf("find the run of %s: %w", p.cfg.Workflow, err)
		}
		for _, r := range list.WorkflowRuns {
			if !r.CreatedAt.Before(since) {
				cur = r
				break
			}
		}
		if cur.ID == 0 {
			if err := p.sleep(ctx); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(out, "github-actions: run %d %s\n", cur.ID, cur.HTMLURL)
	last := ""
	for {
		if cur.Status != last {
			fmt.Fprintf(out, "github-actions: run %d is %s\n", cur.ID, cur.Status)
			last = cur.Status
		}
		if cur.Status == "completed" {
			break
		}
		if err := p.sleep(ctx); err != nil {
			p.cancelRun(cur.ID)
			return err
		}
		if _, err := p.gh.Do(ctx, http.MethodGet, p.path("runs", strconv.FormatInt(cur.ID, 10)), nil, &cur); err != nil {
			if ctx.Err() != nil {
				p.cancelRun(cur.ID)
			}
			return fmt.Errorf("follow run %d: %w", cur.ID, err)
		}
	}
	if cur.Conclusion != "success" {
		return fmt.Errorf("workflow run %d concluded %s: %s", cur.ID, cur.Conclusion, cur.HTMLURL)
	}
	return nil
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

// cancelRun asks GitHub to cancel the run (best effort).
func (p *Provider) cancelRun(id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = p.gh.Do(ctx, http.MethodPost, p.path("runs", strconv.FormatInt(id, 10), "cancel"), nil, nil)
}
