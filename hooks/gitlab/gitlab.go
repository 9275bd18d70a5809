// Package gitlab parses GitLab webhooks (push and tag push, merge_request,
// pipeline, deployment), authenticated by the secret token GitLab sends
// verbatim in X-Gitlab-Token.
package gitlab

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Headers GitLab sends.
const (
	TokenHeader = "X-Gitlab-Token"
	EventHeader = "X-Gitlab-Event"
	UUIDHeader  = "X-Gitlab-Event-UUID"
)

// Source is the GitLab webhook source.
type Source struct{ auth hooks.TokenAuth }

var _ hooks.Source = (*Source)(nil)

// New returns the source for the hook's secret token.
func New(token string) (*Source, error) {
	if token == "" {
		return nil, errors.New("gitlab: a secret token is required")
	}
	return &Source{auth: hooks.TokenAuth{Token: token, Headers: []string{TokenHeader}, NoQuery: true}}, nil
}

// Verify compares X-Gitlab-Token in constant time.
func (s *Source) Verify(r *hooks.Request) error { return s.auth.Verify(r) }

type user struct {
	Name     string `json:"name"`
	Username string `json:"username"`
}

type payload struct {
	ObjectKind string `json:"object_kind"`
	// push, tag_push
	Ref               string `json:"ref"`
	Before            string `json:"before"`
	After             string `json:"after"`
	UserName          string `json:"user_name"`
	UserUsername      string `json:"user_username"`
	TotalCommitsCount int    `json:"total_commits_count"`
	Commits           []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
		Title   string `json:"title"`
		URL     string `json:"url"`
		Author  struct {
			Name string `json:"name"`
		} `json:"author"`
	} `json:"commits"`
	Project struct {
		PathWithNamespace string `json:"path_with_namespace"`
		WebURL            string `json:"web_url"`
	} `json:"project"`
	User user `json:"user"`
	// merge_request, pipeline
	ObjectAttributes *struct {
		ID           int64  `json:"id"`
		IID          int64  `json:"iid"`
		Title        string `json:"title"`
		Description  string `json:"description"`
		State        string `json:"state"`
		Action       string `json:"action"`
		SourceBranch string `json:"source_branch"`
		TargetBranch string `json:"target_branch"`
		URL          string `json:"url"`
		Ref          string `json:"ref"`
		Tag          bool   `json:"tag"`
		SHA          string `json:"sha"`
		Status       string `json:"status"`
		Source       string `json:"source"`
		Duration     *int64 `json:"duration"`
	} `json:"object_attributes"`
	// deployment
	Status         string `json:"status"`
	DeploymentID   int64  `json:"deployment_id"`
	DeployableURL  string `json:"deployable_url"`
	Environment    string `json:"environment"`
	EnvironmentURL string `json:"environment_external_url"`
	ShortSHA       string `json:"short_sha"`
	CommitURL      string `json:"commit_url"`
	CommitTitle    string `json:"commit_title"`
}

// Parse maps one delivery to one event by its object_kind; other kinds are
// ignored (202).
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	var (
		e   *event.Event
		err error
	)
	switch p.ObjectKind {
	case "":
		return nil, hooks.Missing("object_kind")
	case "push", "tag_push":
		e, err = push(&p)
	case "merge_request":
		e, err = mergeRequest(&p)
	case "pipeline":
		e, err = pipeline(&p)
	case "deployment":
		e, err = deployment(&p)
	default:
		return nil, hooks.Ignore("GitLab object_kind %q (%s) is not mapped", p.ObjectKind, r.Header.Get(EventHeader))
	}
	if err != nil {
		return nil, err
	}
	if p.Project.PathWithNamespace == "" {
		return nil, hooks.Missing("project.path_with_namespace")
	}
	e.Status = event.Firing
	if e.Severity == "" {
		e.Severity = event.Info
	}
	e.Labels["project"] = p.Project.PathWithNamespace
	e.Labels["event"] = p.ObjectKind
	if u := r.Header.Get(UUIDHeader); u != "" {
		e.Fingerprint = "gitlab:" + u
		e.Labels["delivery"] = u
	}
	return []event.Event{*e}, nil
}

func who(p *payload) string {
	return hooks.First(p.UserUsername, p.UserName, p.User.Username, p.User.Name, "someone")
}

func push(p *payload) (*event.Event, error) {
	if p.Ref == "" {
		return nil, hooks.Missing("ref")
	}
	kind, name := "branch", strings.TrimPrefix(p.Ref, "refs/heads/")
	if t, ok := strings.CutPrefix(p.Ref, "refs/tags/"); ok {
		kind, name = "tag", t
	}
	deleted := strings.Trim(p.After, "0") == "" && p.After != ""
	var title string
	switch {
	case deleted:
		title = fmt.Sprintf("%s deleted %s %s in %s", who(p), kind, name, p.Project.PathWithNamespace)
	case kind == "tag":
		title = fmt.Sprintf("%s pushed tag %s in %s", who(p), name, p.Project.PathWithNamespace)
	default:
		n := p.TotalCommitsCount
		if n == 0 {
			n = len(p.Commits)
		}
		title = fmt.Sprintf("%s pushed %s to %s in %s", who(p), hooks.Plural(n, "commit"), name, p.Project.PathWithNamespace)
	}
	var text strings.Builder
	for _, c := range p.Commits {
		line := hooks.First(c.Title, strings.SplitN(c.Message, "\n", 2)[0])
		id := c.ID
		if len(id) > 8 {
			id = id[:8]
		}
		fmt.Fprintf(&text, "- %s %s (%s)\n", id, line, c.Author.Name)
	}
	return &event.Event{
		Tag: "gitlab.push", Title: title, Text: strings.TrimSuffix(text.String(), "\n"),
		Labels: hooks.Labels(kind, name, "ref", p.Ref, "sha", p.After),
		Links:  hooks.Links("project", p.Project.WebURL),
	}, nil
}

func mergeRequest(p *payload) (*event.Event, error) {
	a := p.ObjectAttributes
	if a == nil {
		return nil, hooks.Missing("object_attributes")
	}
	action := hooks.First(a.Action, a.State)
	verb := map[string]string{"open": "opened", "close": "closed", "reopen": "reopened", "update": "updated",
		"approved": "approved", "unapproved": "unapproved", "approval": "approved", "unapproval": "unapproved", "merge": "merged"}[action]
	verb = hooks.First(verb, action)
	e := &event.Event{
		Tag:    "gitlab.merge_request",
		Title:  fmt.Sprintf("%s %s merge request !%d in %s: %s", who(p), verb, a.IID, p.Project.PathWithNamespace, a.Title),
		Labels: hooks.Labels("action", action, "state", a.State, "number", fmt.Sprint(a.IID), "branch", a.SourceBranch, "base", a.TargetBranch),
		Links:  hooks.Links("merge request", a.URL),
	}
	if action == "open" {
		e.Text = a.Description
	}
	return e, nil
}

func pipeline(p *payload) (*event.Event, error) {
	a := p.ObjectAttributes
	if a == nil {
		return nil, hooks.Missing("object_attributes")
	}
	if a.Status == "" {
		return nil, hooks.Missing("object_attributes.status")
	}
	sev := event.Info
	if a.Status == "failed" {
		sev = event.Warning
	}
	title := fmt.Sprintf("%s pipeline #%d on %s: %s", p.Project.PathWithNamespace, a.ID, hooks.First(a.Ref, a.SHA), a.Status)
	if a.Duration != nil && *a.Duration > 0 {
		title += fmt.Sprintf(" in %ds", *a.Duration)
	}
	return &event.Event{
		Tag: "ci.gitlab.pipeline", Severity: sev, Title: title,
		Labels: hooks.Labels("ref", a.Ref, "sha", a.SHA, "status", a.Status, "pipeline_id", fmt.Sprint(a.ID),
			"trigger", a.Source, hooks.LabelSourceSeverity, a.Status),
		Links: hooks.Links("pipeline", a.URL),
	}, nil
}

func deployment(p *payload) (*event.Event, error) {
	if p.Status == "" {
		return nil, hooks.Missing("status")
	}
	if p.Environment == "" {
		return nil, hooks.Missing("environment")
	}
	sev := event.Info
	if p.Status == "failed" {
		sev = event.Critical
	}
	return &event.Event{
		Tag: "deploy.gitlab.deployment", Severity: sev,
		Title: fmt.Sprintf("deployment of %s@%s to %s: %s", p.Project.PathWithNamespace, p.ShortSHA, p.Environment, p.Status),
		Text:  p.CommitTitle,
		Labels: hooks.Labels("environment", p.Environment, "status", p.Status, "sha", p.ShortSHA,
			"deployment_id", fmt.Sprint(p.DeploymentID), "user", who(p), hooks.LabelSourceSeverity, p.Status),
		Links: hooks.Links("job", p.DeployableURL, "environment", p.EnvironmentURL, "commit", p.CommitURL),
	}, nil
}
