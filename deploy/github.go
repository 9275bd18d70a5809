package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GitHubClient speaks the parts of GitHub's REST API deployments need:
// deployments and their statuses, commit statuses and check runs,
// compare, merges, and Actions' workflow_dispatch and runs.
type GitHubClient struct {
	BaseURL string // https://api.github.com, or a GitHub Enterprise …/api/v3
	Token   string
	HTTP    *http.Client
}

// NewGitHub returns a client for an app's GitHub settings.
func NewGitHub(g GitHub, hc *http.Client) *GitHubClient {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	base := g.APIURL
	if base == "" {
		base = "https://api.github.com"
	}
	return &GitHubClient{BaseURL: strings.TrimSuffix(base, "/"), Token: g.Token.Reveal(), HTTP: hc}
}

// APIError is a GitHub answer other than 2xx.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("GitHub %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// StatusOf returns the HTTP status of a GitHub error (0 when err is not one).
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// Do sends a request with a JSON body (nil: none) and decodes a JSON answer
// into out (nil: ignored). It returns the HTTP status.
func (c *GitHubClient) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("GitHub %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, fmt.Errorf("GitHub %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "opsbot")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GitHub %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("GitHub %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return resp.StatusCode, &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: e.Message}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("GitHub %s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func repoPath(repo string, parts ...string) string {
	owner, name, _ := strings.Cut(repo, "/")
	p := "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name)
	for _, s := range parts {
		p += "/" + s
	}
	return p
}

// GHDeployment is a GitHub deployment.
type GHDeployment struct {
	ID          int64           `json:"id"`
	Ref         string          `json:"ref"`
	SHA         string          `json:"sha"`
	Task        string          `json:"task"`
	Environment string          `json:"environment"`
	Description string          `json:"description"`
	Payload     json.RawMessage `json:"payload"`
	Creator     struct {
		Login string `json:"login"`
	} `json:"creator"`
}

// DeploymentRequest is the body of "create a deployment".
type DeploymentRequest struct {
	Ref                   string         `json:"ref"`
	Task                  string         `json:"task,omitempty"`
	AutoMerge             bool           `json:"auto_merge"`
	RequiredContexts      []string       `json:"required_contexts"`
	Payload               map[string]any `json:"payload,omitempty"`
	Environment           string         `json:"environment"`
	Description           string         `json:"description,omitempty"`
	TransientEnvironment  bool           `json:"transient_environment,omitempty"`
	ProductionEnvironment bool           `json:"production_environment,omitempty"`
}

// CreateDeployment creates a deployment (POST /repos/{owner}/{repo}/deployments).
func (c *GitHubClient) CreateDeployment(ctx context.Context, repo string, r DeploymentRequest) (GHDeployment, error) {
	if r.RequiredContexts == nil {
		r.RequiredContexts = []string{} // opsbot checked them; an empty list tells GitHub to skip its own check
	}
	var d GHDeployment
	_, err := c.Do(ctx, http.MethodPost, repoPath(repo, "deployments"), r, &d)
	return d, err
}

// Deployment reads a deployment.
func (c *GitHubClient) Deployment(ctx context.Context, repo string, id int64) (GHDeployment, error) {
	var d GHDeployment
	_, err := c.Do(ctx, http.MethodGet, repoPath(repo, "deployments", fmt.Sprint(id)), nil, &d)
	return d, err
}

// DeploymentStatus is the body of "create a deployment status".
type DeploymentStatus struct {
	State          string `json:"state"` // error, failure, inactive, in_progress, queued, pending, success
	LogURL         string `json:"log_url,omitempty"`
	EnvironmentURL string `json:"environment_url,omitempty"`
	Description    string `json:"description,omitempty"`
	Environment    string `json:"environment,omitempty"`
}

// CreateDeploymentStatus adds a status to deployment id.
func (c *GitHubClient) CreateDeploymentStatus(ctx context.Context, repo string, id int64, s DeploymentStatus) error {
	if len(s.Description) > 140 {
		s.Description = s.Description[:137] + "..."
	}
	_, err := c.Do(ctx, http.MethodPost, repoPath(repo, "deployments", fmt.Sprint(id), "statuses"), s, nil)
	return err
}

// Check is one commit status or check run, reduced to a name and a state:
// success, pending or failure.
type Check struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Checks returns the commit statuses (combined status) and check runs of
// ref, by name; a check run's conclusion success, neutral or skipped counts
// as success, one not completed as pending.
func (c *GitHubClient) Checks(ctx context.Context, repo, ref string) (map[string]Check, error) {
	var combined struct {
		State    string `json:"state"`
		Statuses []struct {
			Context string `json:"context"`
			State   string `json:"state"`
		} `json:"statuses"`
	}
	if _, err := c.Do(ctx, http.MethodGet, repoPath(repo, "commits", url.PathEscape(ref), "status")+"?per_page=100", nil, &combined); err != nil {
		return nil, err
	}
	out := map[string]Check{}
	for _, s := range combined.Statuses {
		st := s.State
		if st == "error" {
			st = "failure"
		}
		out[s.Context] = Check{Name: s.Context, State: st}
	}
	var runs struct {
		CheckRuns []struct {
			Name       string `json:"name"`
			Status     string `json:"status"`
			Conclusion string `json:"conclusion"`
		} `json:"check_runs"`
	}
	if _, err := c.Do(ctx, http.MethodGet, repoPath(repo, "commits", url.PathEscape(ref), "check-runs")+"?per_page=100", nil, &runs); err != nil {
		return nil, err
	}
	for _, r := range runs.CheckRuns {
		st := "pending"
		if r.Status == "completed" {
			switch r.Conclusion {
			case "success", "neutral", "skipped":
				st = "success"
			default:
				st = "failure"
			}
		}
		out[r.Name] = Check{Name: r.Name, State: st}
	}
	return out, nil
}

// ResolveRef returns the SHA of the commit ref names.
func (c *GitHubClient) ResolveRef(ctx context.Context, repo, ref string) (string, error) {
	var cm struct {
		SHA string `json:"sha"`
	}
	_, err := c.Do(ctx, http.MethodGet, repoPath(repo, "commits", url.PathEscape(ref)), nil, &cm)
	if StatusOf(err) == http.StatusNotFound || StatusOf(err) == http.StatusUnprocessableEntity {
		return "", fmt.Errorf("%q: %w", ref, ErrUnknownRef)
	}
	return cm.SHA, err
}

type ghCommit struct {
	SHA    string `json:"sha"`
	Commit struct {
		Author struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"author"`
		Message string `json:"message"`
	} `json:"commit"`
	Author *struct {
		Login string `json:"login"`
	} `json:"author"`
	Parents []struct {
		SHA string `json:"sha"`
	} `json:"parents"`
}

// compare returns the commits head has that base lacks.
func (c *GitHubClient) compare(ctx context.Context, repo, base, head string) ([]Commit, error) {
	var cmp struct {
		Status  string     `json:"status"`
		Commits []ghCommit `json:"commits"`
	}
	p := repoPath(repo, "compare", url.PathEscape(base)+"..."+url.PathEscape(head))
	if _, err := c.Do(ctx, http.MethodGet, p+"?per_page=250", nil, &cmp); err != nil {
		return nil, err
	}
	var out []Commit
	// GitHub lists oldest first; opsbot shows newest first, like git log.
	for i := len(cmp.Commits) - 1; i >= 0; i-- {
		gc := cmp.Commits[i]
		if len(gc.Parents) > 1 {
			continue // merges, as git log --no-merges
		}
		subject, _, _ := strings.Cut(gc.Commit.Message, "\n")
		cm := Commit{SHA: gc.SHA, AuthorName: gc.Commit.Author.Name, AuthorEmail: gc.Commit.Author.Email, Subject: subject}
		if gc.Author != nil {
			cm.AuthorLogin = gc.Author.Login
		}
		out = append(out, cm)
	}
	return out, nil
}

// Compare says how head relates to base (two compare calls).
func (c *GitHubClient) Compare(ctx context.Context, repo, base, head string) (Comparison, error) {
	var cmp Comparison
	var err error
	if cmp.Ahead, err = c.compare(ctx, repo, base, head); err != nil {
		return cmp, err
	}
	if cmp.Behind, err = c.compare(ctx, repo, head, base); err != nil {
		return cmp, err
	}
	return cmp, nil
}

// ErrMergeConflict is Merge's error when GitHub cannot merge.
var ErrMergeConflict = errors.New("merge conflict")

// Merge merges head into the branch base (POST /repos/{owner}/{repo}/merges).
// It returns the merge commit's SHA, "" when there was nothing to merge.
func (c *GitHubClient) Merge(ctx context.Context, repo, base, head, message string) (string, error) {
	var m struct {
		SHA string `json:"sha"`
	}
	status, err := c.Do(ctx, http.MethodPost, repoPath(repo, "merges"), map[string]string{"base": base, "head": head, "commit_message": message}, &m)
	switch {
	case StatusOf(err) == http.StatusConflict:
		return "", fmt.Errorf("merging %s into %s: %w", head, base, ErrMergeConflict)
	case err != nil:
		return "", err
	case status == http.StatusNoContent:
		return "", nil
	}
	return m.SHA, nil
}
