// Package bugsnag parses Bugsnag's webhook integration (error triggers,
// project triggers and releases). Bugsnag neither signs nor sets headers:
// the token goes in the webhook URL (?token=…).
package bugsnag

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// Source is the Bugsnag source.
type Source struct{ auth hooks.TokenAuth }

var _ hooks.Source = (*Source)(nil)

// New returns the source for a token.
func New(token string) (*Source, error) {
	if token == "" {
		return nil, errors.New("bugsnag: a token is required")
	}
	return &Source{auth: hooks.TokenAuth{Token: token}}, nil
}

// Verify checks the token.
func (s *Source) Verify(r *hooks.Request) error { return s.auth.Verify(r) }

type named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

type payload struct {
	Account named `json:"account"`
	Project named `json:"project"`
	Trigger *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"trigger"`
	Error *struct {
		ID             string `json:"id"`
		ErrorID        string `json:"errorId"`
		ExceptionClass string `json:"exceptionClass"`
		Message        string `json:"message"`
		Context        string `json:"context"`
		ReceivedAt     string `json:"receivedAt"`
		URL            string `json:"url"`
		Severity       string `json:"severity"`
		Status         string `json:"status"`
		Unhandled      bool   `json:"unhandled"`
		App            struct {
			ReleaseStage string `json:"releaseStage"`
			Version      string `json:"version"`
		} `json:"app"`
	} `json:"error"`
	Release *struct {
		Version      string `json:"version"`
		ReleaseStage string `json:"releaseStage"`
		URL          string `json:"url"`
		BuilderName  string `json:"builderName"`
		ReleaseTime  string `json:"releaseTime"`
	} `json:"release"`
}

// Severity maps Bugsnag's error severity: error warning, warning warning,
// info info (an unhandled error is critical).
func Severity(sev string, unhandled bool) event.Severity {
	if unhandled {
		return event.Critical
	}
	if strings.EqualFold(sev, "info") {
		return event.Info
	}
	return event.Warning
}

// Parse maps a trigger to one event: error triggers to alert.bugsnag (a
// manual change to "fixed" resolves), "release" to release.bugsnag, project
// triggers to alert.bugsnag; comments are ignored.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var p payload
	if err := hooks.Decode(r.Body, &p); err != nil {
		return nil, err
	}
	if p.Trigger == nil || p.Trigger.Type == "" {
		return nil, hooks.Missing("trigger.type")
	}
	if p.Project.Name == "" {
		return nil, hooks.Missing("project.name")
	}
	tr := p.Trigger
	base := hooks.Labels("project", p.Project.Name, "trigger", tr.Type, "account", p.Account.Name)
	switch {
	case tr.Type == "comment":
		return nil, hooks.Ignore("bugsnag trigger %q", tr.Type)
	case tr.Type == "release":
		rel := p.Release
		if rel == nil || rel.Version == "" {
			return nil, hooks.Missing("release.version")
		}
		base["version"], base["stage"] = rel.Version, rel.ReleaseStage
		return []event.Event{{
			Tag: "release.bugsnag", Status: event.Firing, Severity: event.Info,
			Title:  fmt.Sprintf("%s %s released to %s", p.Project.Name, rel.Version, hooks.First(rel.ReleaseStage, "?")),
			Labels: base, Links: hooks.Links("release", rel.URL), Time: hooks.Time(rel.ReleaseTime),
		}}, nil
	case p.Error != nil:
		e := p.Error
		if e.ExceptionClass == "" && e.Message == "" {
			return nil, hooks.Missing("error.exceptionClass")
		}
		st := event.Firing
		if tr.Type == "errorStateManualChange" && (e.Status == "fixed" || e.Status == "ignored") {
			st = event.Resolved
		}
		base["stage"], base["status"], base[hooks.LabelSourceSeverity] = e.App.ReleaseStage, e.Status, e.Severity
		if e.Context != "" {
			base["context"] = e.Context
		}
		title := strings.TrimSpace(fmt.Sprintf("%s: %s", e.ExceptionClass, e.Message))
		id := hooks.First(e.ErrorID, e.ID)
		return []event.Event{{
			Tag: "alert.bugsnag", Status: st, Severity: Severity(e.Severity, e.Unhandled),
			Title: fmt.Sprintf("[%s] %s", p.Project.Name, strings.Trim(title, ": ")),
			Text:  tr.Message, Labels: base, Links: hooks.Links("error", e.URL),
			Fingerprint: "bugsnag:" + id, Time: hooks.Time(e.ReceivedAt),
		}}, nil
	default:
		if tr.Message == "" {
			return nil, hooks.Missing("trigger.message")
		}
		return []event.Event{{
			Tag: "alert.bugsnag", Status: event.Firing, Severity: event.Warning,
			Title: fmt.Sprintf("[%s] %s", p.Project.Name, tr.Message), Labels: base,
			Links: hooks.Links("project", p.Project.URL),
		}}, nil
	}
}
