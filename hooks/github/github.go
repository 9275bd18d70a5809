// Package github parses GitHub webhook deliveries (push, pull_request,
// deployment, deployment_status, status, check_suite, workflow_run,
// release), verified by X-Hub-Signature-256.
package github

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Headers GitHub sends.
const (
	SignatureHeader = "X-Hub-Signature-256"
	EventHeader     = "X-GitHub-Event"
	DeliveryHeader  = "X-GitHub-Delivery"
)

// Source is the GitHub webhook source.
type Source struct{ secret string }

var _ hooks.Source = (*Source)(nil)

// New returns the source for the webhook secret configured on GitHub.
func New(secret string) (*Source, error) {
	if secret == "" {
		return nil, errors.New("github: a webhook secret is required")
	}
	return &Source{secret: secret}, nil
}

// Verify checks "sha256=" + hex HMAC-SHA256 of the raw body.
func (s *Source) Verify(r *hooks.Request) error {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return hooks.Unauthorized("missing %s", SignatureHeader)
	}
	hexsig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok || !hooks.ValidHexHMAC(s.secret, hexsig, r.Body) {
		return hooks.Unauthorized("invalid %s", SignatureHeader)
	}
	return nil
}

type user struct {
	Login string `json:"login"`
}

type repository struct {
	FullName string `json:"full_name"`
	HTMLURL  string `json:"html_url"`
}

type payload struct {
	Action     string     `json:"action"`
	Repository repository `json:"repository"`
	Sender     user       `json:"sender"`

	// push
	Ref     string `json:"ref"`
	After   string `json:"after"`
	Created bool   `json:"created"`
	Deleted bool   `json:"deleted"`
	Forced  bool   `json:"forced"`
	Compare string `json:"compare"`
	Pusher  struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Commits []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
		URL     string `json:"url"`
		Author  struct {
			Name string `json:"name"`
		} `json:"author"`
	} `json:"commits"`

	// pull_request
	Number      int `json:"number"`
	PullRequest *struct {
		Title   string `json:"title"`
		HTMLURL string `json:"html_url"`
		Body    string `json:"body"`
		Merged  bool   `json:"merged"`
		Head    struct {
			Ref string `json:"ref"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`

	// deployment, deployment_status
	Deployment *struct {
		ID          int64  `json:"id"`
		Ref         string `json:"ref"`
		SHA         string `json:"sha"`
		Task        string `json:"task"`
		Environment string `json:"environment"`
		Description string `json:"description"`
		Creator     user   `json:"creator"`
	} `json:"deployment"`
	DeploymentStatus *struct {
		State          string `json:"state"`
		Description    string `json:"description"`
		Environment    string `json:"environment"`
		TargetURL      string `json:"target_url"`
		LogURL         string `json:"log_url"`
		EnvironmentURL string `json:"environment_url"`
		Creator        user   `json:"creator"`
	} `json:"deployment_status"`

	// status
	SHA         string `json:"sha"`
	State       string `json:"state"`
	Context     string `json:"context"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url"`
	Branches    []struct {
		Name string `json:"name"`
	} `json:"branches"`

	// check_suite
	CheckSuite *struct {
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
		HeadBranch string `json:"head_branch"`
		HeadSHA    string `json:"head_sha"`
		App        struct {
			Name string `json:"name"`
		} `json:"app"`
	} `json:"check_suite"`

	// workflow_run
	WorkflowRun *struct {
		Name       string `json:"name"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
		HeadBranch string `json:"head_branch"`
		HeadSHA    string `json:"head_sha"`
		HTMLURL    string `json:"html_url"`
		RunNumber  int    `json:"run_number"`
		Event      string `json:"event"`
	} `json:"workflow_run"`
	Workflow *struct {
		Name string `json:"name"`
	} `json:"workflow"`

	// release
	Release *struct {
		TagName     string `json:"tag_name"`
		Name        string `json:"name"`
		Body        string `json:"body"`
		HTMLURL     string `json:"html_url"`
		Prerelease  bool   `json:"prerelease"`
		Draft       bool   `json:"draft"`
		Author      user   `json:"author"`
		PublishedAt string `json:"published_at"`
	} `json:"release"`
}

// Parse maps one delivery to one event. Event types not listed in the
// package comment, "ping", check suites not yet completed and releases not
// "published" are ignored (202), so GitHub does not mark the hook failing.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	kind := r.Header.Get(EventHeader)
	if kind == "" {
		return nil, hooks.Malformed("missing header %s", EventHeader)
	}
	parse, ok := parsers[kind]
	if !ok {
		return nil, hooks.Ignore("GitHub event type %q is not mapped", kind)
	}
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	if p.Repository.FullName == "" {
		return nil, hooks.Missing("repository.full_name")
	}
	e, err := parse(&p)
	if err != nil {
		return nil, err
	}
	e.Status = event.Firing
	if e.Severity == "" {
		e.Severity = event.Info
	}
	delivery := r.Header.Get(DeliveryHeader)
	e.Fingerprint = delivery
	e.Labels["repo"] = p.Repository.FullName
	e.Labels["event"] = kind
	if delivery != "" {
		e.Labels["delivery"] = delivery
	}
	if p.Sender.Login != "" {
		e.Labels["sender"] = p.Sender.Login
	}
	return []event.Event{*e}, nil
}

var parsers = map[string]func(*payload) (*event.Event, error){
	"push":              push,
	"pull_request":      pullRequest,
	"deployment":        deployment,
	"deployment_status": deploymentStatus,
	"status":            status,
	"check_suite":       checkSuite,
	"workflow_run":      workflowRun,
	"release":           release,
}

// at is "repo@ref", or "repo" without a ref.
func at(repo, ref string) string {
	if ref == "" {
		return repo
	}
	return repo + "@" + ref
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func push(p *payload) (*event.Event, error) {
	if p.Ref == "" {
		return nil, hooks.Missing("ref")
	}
	kind, name := "branch", strings.TrimPrefix(p.Ref, "refs/heads/")
	if t, ok := strings.CutPrefix(p.Ref, "refs/tags/"); ok {
		kind, name = "tag", t
	}
	who := hooks.First(p.Pusher.Name, p.Sender.Login, "someone")
	var title string
	switch {
	case p.Deleted:
		title = fmt.Sprintf("%s deleted %s %s in %s", who, kind, name, p.Repository.FullName)
	case kind == "tag":
		title = fmt.Sprintf("%s pushed tag %s in %s", who, name, p.Repository.FullName)
	default:
		verb := "pushed"
		if p.Forced {
			verb = "force-pushed"
		}
		title = fmt.Sprintf("%s %s %s to %s in %s", who, verb, hooks.Plural(len(p.Commits), "commit"), name, p.Repository.FullName)
		if p.Created {
			title += " (new branch)"
		}
	}
	var text strings.Builder
	for _, c := range p.Commits {
		line, _, _ := strings.Cut(c.Message, "\n")
		fmt.Fprintf(&text, "- %s %s (%s)\n", short(c.ID), line, c.Author.Name)
	}
	return &event.Event{
		Tag: "github.push", Title: title, Text: strings.TrimSuffix(text.String(), "\n"),
		Labels: hooks.Labels(kind, name, "ref", p.Ref, "sha", p.After),
		Links:  hooks.Links("compare", p.Compare),
	}, nil
}

func pullRequest(p *payload) (*event.Event, error) {
	pr := p.PullRequest
	if pr == nil {
		return nil, hooks.Missing("pull_request")
	}
	if p.Action == "" {
		return nil, hooks.Missing("action")
	}
	action := strings.ReplaceAll(p.Action, "_", " ")
	if p.Action == "closed" && pr.Merged {
		action = "merged"
	}
	e := &event.Event{
		Tag:    "github.pull_request",
		Title:  fmt.Sprintf("%s %s pull request #%d in %s: %s", hooks.First(p.Sender.Login, "someone"), action, p.Number, p.Repository.FullName, pr.Title),
		Labels: hooks.Labels("action", p.Action, "number", fmt.Sprint(p.Number), "branch", pr.Head.Ref, "base", pr.Base.Ref),
		Links:  hooks.Links("pull request", pr.HTMLURL),
	}
	if p.Action == "opened" {
		e.Text = pr.Body
	}
	return e, nil
}

func deployment(p *payload) (*event.Event, error) {
	d := p.Deployment
	if d == nil {
		return nil, hooks.Missing("deployment")
	}
	if d.Environment == "" {
		return nil, hooks.Missing("deployment.environment")
	}
	return &event.Event{
		Tag:    "deploy.github.deployment",
		Title:  fmt.Sprintf("%s started deploying %s to %s", hooks.First(d.Creator.Login, p.Sender.Login, "someone"), at(p.Repository.FullName, d.Ref), d.Environment),
		Text:   d.Description,
		Labels: hooks.Labels("environment", d.Environment, "ref", d.Ref, "sha", d.SHA, "task", d.Task, "deployment_id", fmt.Sprint(d.ID)),
	}, nil
}

func deploymentStatus(p *payload) (*event.Event, error) {
	ds, d := p.DeploymentStatus, p.Deployment
	if ds == nil {
		return nil, hooks.Missing("deployment_status")
	}
	if ds.State == "" {
		return nil, hooks.Missing("deployment_status.state")
	}
	env, ref, sha := ds.Environment, "", ""
	if d != nil {
		env, ref, sha = hooks.First(env, d.Environment), d.Ref, d.SHA
	}
	sev := event.Info
	switch ds.State {
	case "failure", "error":
		sev = event.Critical
	}
	return &event.Event{
		Tag:      "deploy.github.deployment_status",
		Severity: sev,
		Title:    fmt.Sprintf("deployment of %s to %s: %s", at(p.Repository.FullName, ref), hooks.First(env, "?"), ds.State),
		Text:     ds.Description,
		Labels:   hooks.Labels("environment", env, "ref", ref, "sha", sha, "state", ds.State, hooks.LabelSourceSeverity, ds.State),
		Links:    hooks.Links("log", hooks.First(ds.LogURL, ds.TargetURL), "environment", ds.EnvironmentURL),
	}, nil
}

// ciSeverity maps a commit status or a check/workflow conclusion.
func ciSeverity(s string) event.Severity {
	switch s {
	case "failure", "error", "timed_out", "startup_failure", "action_required":
		return event.Warning
	}
	return event.Info
}

func status(p *payload) (*event.Event, error) {
	if p.State == "" {
		return nil, hooks.Missing("state")
	}
	if p.SHA == "" {
		return nil, hooks.Missing("sha")
	}
	branch := ""
	if len(p.Branches) > 0 {
		branch = p.Branches[0].Name
	}
	return &event.Event{
		Tag:      "ci.github.status",
		Severity: ciSeverity(p.State),
		Title:    fmt.Sprintf("%s %s at %s: %s", p.Repository.FullName, hooks.First(p.Context, "status"), short(p.SHA), p.State),
		Text:     p.Description,
		Labels:   hooks.Labels("context", p.Context, "sha", p.SHA, "branch", branch, "state", p.State, hooks.LabelSourceSeverity, p.State),
		Links:    hooks.Links("details", p.TargetURL),
	}, nil
}

func checkSuite(p *payload) (*event.Event, error) {
	cs := p.CheckSuite
	if cs == nil {
		return nil, hooks.Missing("check_suite")
	}
	if p.Action != "completed" {
		return nil, hooks.Ignore("check_suite action %q (only completed suites are mapped)", p.Action)
	}
	return &event.Event{
		Tag:      "ci.github.check_suite",
		Severity: ciSeverity(cs.Conclusion),
		Title:    fmt.Sprintf("%s checks (%s) on %s: %s", p.Repository.FullName, hooks.First(cs.App.Name, "check suite"), hooks.First(cs.HeadBranch, short(cs.HeadSHA)), cs.Conclusion),
		Labels:   hooks.Labels("branch", cs.HeadBranch, "sha", cs.HeadSHA, "app", cs.App.Name, "conclusion", cs.Conclusion, hooks.LabelSourceSeverity, cs.Conclusion),
	}, nil
}

func workflowRun(p *payload) (*event.Event, error) {
	wr := p.WorkflowRun
	if wr == nil {
		return nil, hooks.Missing("workflow_run")
	}
	name := wr.Name
	if name == "" && p.Workflow != nil {
		name = p.Workflow.Name
	}
	name = hooks.First(name, "workflow")
	outcome := hooks.First(wr.Conclusion, wr.Status, p.Action)
	return &event.Event{
		Tag:      "ci.github.workflow_run",
		Severity: ciSeverity(wr.Conclusion),
		Title:    fmt.Sprintf("%s %s #%d on %s: %s", p.Repository.FullName, name, wr.RunNumber, hooks.First(wr.HeadBranch, short(wr.HeadSHA)), outcome),
		Labels: hooks.Labels("action", p.Action, "workflow", name, "branch", wr.HeadBranch, "sha", wr.HeadSHA,
			"conclusion", wr.Conclusion, "trigger", wr.Event, hooks.LabelSourceSeverity, wr.Conclusion),
		Links: hooks.Links("run", wr.HTMLURL),
	}, nil
}

func release(p *payload) (*event.Event, error) {
	rel := p.Release
	if rel == nil {
		return nil, hooks.Missing("release")
	}
	if p.Action != "published" {
		return nil, hooks.Ignore("release action %q (only published releases are mapped)", p.Action)
	}
	if rel.TagName == "" {
		return nil, hooks.Missing("release.tag_name")
	}
	title := fmt.Sprintf("%s %s released", p.Repository.FullName, rel.TagName)
	if rel.Name != "" && rel.Name != rel.TagName {
		title += ": " + rel.Name
	}
	if rel.Prerelease {
		title += " (pre-release)"
	}
	return &event.Event{
		Tag:    "release.github",
		Title:  title,
		Text:   rel.Body,
		Labels: hooks.Labels("version", rel.TagName, "author", rel.Author.Login, "prerelease", fmt.Sprint(rel.Prerelease)),
		Links:  hooks.Links("release notes", rel.HTMLURL),
		Time:   hooks.Time(rel.PublishedAt),
	}, nil
}
