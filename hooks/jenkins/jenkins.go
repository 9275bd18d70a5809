// Package jenkins parses the Jenkins Notification plugin's JSON (one POST per
// build phase). The plugin cannot sign or set headers: the token goes in the
// URL (?token=…) or, where a proxy adds it, in a header.
package jenkins

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Source is the Jenkins source.
type Source struct{ auth hooks.TokenAuth }

var _ hooks.Source = (*Source)(nil)

// New returns the source for a token.
func New(token string) (*Source, error) {
	if token == "" {
		return nil, errors.New("jenkins: a token is required")
	}
	return &Source{auth: hooks.TokenAuth{Token: token}}, nil
}

// Verify checks the token.
func (s *Source) Verify(r *hooks.Request) error { return s.auth.Verify(r) }

type payload struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	URL         string `json:"url"`
	Build       *struct {
		FullURL     string `json:"full_url"`
		Number      *int   `json:"number"`
		Phase       string `json:"phase"`
		Status      string `json:"status"`
		URL         string `json:"url"`
		DisplayName string `json:"display_name"`
		Log         string `json:"log"`
		Timestamp   int64  `json:"timestamp"`
		Duration    int64  `json:"duration"`
		SCM         struct {
			URL    string `json:"url"`
			Branch string `json:"branch"`
			Commit string `json:"commit"`
		} `json:"scm"`
		Parameters map[string]any `json:"parameters"`
	} `json:"build"`
}

// Severities of build results (the table is in docs/hooks.md).
var severities = map[string]event.Severity{
	"SUCCESS": event.Info, "UNSTABLE": event.Warning, "FAILURE": event.Warning,
	"ABORTED": event.Info, "NOT_BUILT": event.Info,
}

// Parse maps the STARTED and COMPLETED phases to ci.jenkins.build; QUEUED
// and FINALIZED are ignored (FINALIZED repeats COMPLETED).
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	switch {
	case p.Name == "":
		return nil, hooks.Missing("name")
	case p.Build == nil:
		return nil, hooks.Missing("build")
	case p.Build.Phase == "":
		return nil, hooks.Missing("build.phase")
	case p.Build.Number == nil:
		return nil, hooks.Missing("build.number")
	}
	b := p.Build
	phase := strings.ToUpper(b.Phase)
	var title string
	sev := event.Info
	switch phase {
	case "STARTED":
		title = fmt.Sprintf("%s #%d started", p.Name, *b.Number)
	case "COMPLETED":
		if b.Status == "" {
			return nil, hooks.Missing("build.status")
		}
		title = fmt.Sprintf("%s #%d: %s", p.Name, *b.Number, b.Status)
		sev = severities[strings.ToUpper(b.Status)]
		if sev == "" {
			sev = event.Warning
		}
		if b.Duration > 0 {
			title += " in " + (time.Duration(b.Duration) * time.Millisecond).Round(time.Second).String()
		}
	case "QUEUED", "FINALIZED":
		return nil, hooks.Ignore("build phase %s", phase)
	default:
		return nil, hooks.Malformed("unknown build.phase %q", b.Phase)
	}
	branch := strings.TrimPrefix(b.SCM.Branch, "origin/")
	e := event.Event{
		Tag: "ci.jenkins.build", Severity: sev, Status: event.Firing, Title: title,
		Text: strings.TrimSpace(b.Log),
		Labels: hooks.Labels("job", p.Name, "build", fmt.Sprint(*b.Number), "phase", phase, "status", b.Status,
			"branch", branch, "commit", b.SCM.Commit, hooks.LabelSourceSeverity, b.Status),
		Links:       hooks.Links("build", b.FullURL),
		Fingerprint: fmt.Sprintf("jenkins:%s#%d:%s", p.Name, *b.Number, phase),
	}
	if b.Timestamp > 0 {
		e.Time = time.UnixMilli(b.Timestamp).UTC()
	}
	return []event.Event{e}, nil
}
