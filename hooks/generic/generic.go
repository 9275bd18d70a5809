// Package generic turns any JSON webhook into events by a configured mapping:
// each event field is a Go text/template over the parsed body
// (title: '{{ .alert.name }}'). It authenticates with an HMAC over the raw
// body (header, secret, prefix) or a token.
package generic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
)

// HMAC is a signature over the raw body: Header carries Prefix followed by
// the HMAC-SHA256 of the body under Secret, hex (default) or base64.
type HMAC struct {
	Secret   string
	Header   string
	Prefix   string
	Encoding string // "hex" (default) or "base64"
}

// Link is a link template.
type Link struct {
	Title string
	URL   string
}

// Mapping says how a body becomes an event. Every string is a template over
// the decoded JSON body; Tag and Title are required.
type Mapping struct {
	Token string
	HMAC  *HMAC

	Tag, Title, Text, Severity, Status, Fingerprint, Room string
	Labels                                                map[string]string
	Fields                                                map[string]string
	Links                                                 []Link
	// SeverityMap maps the rendered severity ("P1", "disaster") to
	// info|warning|critical; unmapped values go through the usual words
	// (docs/hooks.md), else warning.
	SeverityMap map[string]string
}

// Source is one configured generic webhook.
type Source struct {
	m      Mapping
	fields []compiled // tag, title, …
	labels []compiled
	extras []compiled
	links  [][2]*template.Template
}

type compiled struct {
	name string
	t    *template.Template
}

var _ hooks.Source = (*Source)(nil)

// Funcs are the template functions besides text/template's own.
var Funcs = template.FuncMap{
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"trim":  strings.TrimSpace,
	"join": func(sep string, v any) string {
		list, ok := v.([]any)
		if !ok {
			return fmt.Sprint(v)
		}
		s := make([]string, len(list))
		for i, x := range list {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, sep)
	},
	"default": func(def string, v any) string {
		if v == nil || fmt.Sprint(v) == "" {
			return def
		}
		return fmt.Sprint(v)
	},
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// New compiles a mapping; its errors name the field at fault.
func New(m Mapping) (*Source, error) {
	var errs config.FieldErrors
	if m.Token == "" && (m.HMAC == nil || m.HMAC.Secret == "") {
		errs.Add("", "needs a token or an hmac secret")
	}
	if m.HMAC != nil {
		if m.HMAC.Secret != "" && m.HMAC.Header == "" {
			errs.Add("hmac.header", "is required with hmac.secret")
		}
		if e := m.HMAC.Encoding; e != "" && e != "hex" && e != "base64" {
			errs.Add("hmac.encoding", "must be hex or base64, not %q", e)
		}
	}
	if strings.TrimSpace(m.Tag) == "" {
		errs.Add("tag", "is required")
	}
	if strings.TrimSpace(m.Title) == "" {
		errs.Add("title", "is required")
	}
	for k, v := range m.SeverityMap {
		if !validSeverity(v) {
			errs.Add(config.Path("severity_map", k), "must be info, warning or critical, not %q", v)
		}
	}
	s := &Source{m: m}
	compile := func(path, text string) *template.Template {
		t, err := template.New(path).Funcs(Funcs).Option("missingkey=zero").Parse(text)
		if err != nil {
			errs.Add(path, "%v", strings.TrimPrefix(err.Error(), "template: "))
		}
		return t
	}
	for _, f := range []struct{ name, text string }{
		{"tag", m.Tag}, {"title", m.Title}, {"text", m.Text}, {"severity", m.Severity},
		{"status", m.Status}, {"fingerprint", m.Fingerprint}, {"room", m.Room},
	} {
		if f.text != "" {
			s.fields = append(s.fields, compiled{f.name, compile(f.name, f.text)})
		}
	}
	for _, k := range sortedKeys(m.Labels) {
		s.labels = append(s.labels, compiled{k, compile(config.Path("labels", k), m.Labels[k])})
	}
	for _, k := range sortedKeys(m.Fields) {
		s.extras = append(s.extras, compiled{k, compile(config.Path("fields", k), m.Fields[k])})
	}
	for i, l := range m.Links {
		if l.URL == "" {
			errs.Add(config.Path("links", i, "url"), "is required")
		}
		s.links = append(s.links, [2]*template.Template{compile(config.Path("links", i, "title"), l.Title), compile(config.Path("links", i, "url"), l.URL)})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func validSeverity(s string) bool {
	switch event.Severity(s) {
	case event.Info, event.Warning, event.Critical:
		return true
	}
	return false
}

// Verify checks the HMAC when one is configured and the token when one is.
func (s *Source) Verify(r *hooks.Request) error {
	if h := s.m.HMAC; h != nil && h.Secret != "" {
		got := r.Header.Get(h.Header)
		if got == "" {
			return hooks.Unauthorized("missing %s", h.Header)
		}
		sig, ok := strings.CutPrefix(got, h.Prefix)
		valid := ok && hooks.ValidHexHMAC(h.Secret, sig, r.Body)
		if h.Encoding == "base64" {
			valid = ok && hooks.ValidBase64HMAC(h.Secret, sig, r.Body)
		}
		if !valid {
			return hooks.Unauthorized("invalid %s", h.Header)
		}
	}
	if s.m.Token != "" {
		return hooks.TokenAuth{Token: s.m.Token}.Verify(r)
	}
	return nil
}

// render executes a template; a missing key renders empty.
func render(t *template.Template, data any) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.ReplaceAll(b.String(), "<no value>", "")), nil
}

// Parse decodes the body and renders one event.
func (s *Source) Parse(r *hooks.Request) ([]event.Event, error) {
	var body any
	if err := hooks.Decode(r.Body, &body); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range s.fields {
		v, err := render(f.t, body)
		if err != nil {
			return nil, hooks.Malformed("%s: %v", f.name, cleanExecErr(err))
		}
		out[f.name] = v
	}
	if out["tag"] == "" {
		return nil, hooks.Malformed("tag: the template rendered empty")
	}
	if !event.ValidTag(out["tag"]) {
		return nil, hooks.Malformed("tag: %q is not dotted lowercase words (e.g. alert.uptime)", out["tag"])
	}
	if out["title"] == "" {
		return nil, hooks.Malformed("title: the template rendered empty")
	}
	e := event.Event{Tag: out["tag"], Title: out["title"], Text: out["text"], Fingerprint: out["fingerprint"], Room: out["room"],
		Labels: map[string]string{}, Status: event.Firing}
	switch st := strings.ToLower(out["status"]); st {
	case "", "firing", "problem", "alerting", "triggered", "open":
	case "resolved", "ok", "closed", "recovered":
		e.Status = event.Resolved
	default:
		return nil, hooks.Malformed("status: %q is neither firing nor resolved", out["status"])
	}
	raw := out["severity"]
	e.Severity = hooks.Severity(raw, event.Warning)
	if mapped, ok := s.m.SeverityMap[raw]; ok {
		e.Severity = event.Severity(mapped)
	}
	if raw == "" && s.m.Severity == "" {
		e.Severity = event.Info
	}
	if raw != "" {
		e.Labels[hooks.LabelSourceSeverity] = raw
	}
	for _, l := range s.labels {
		v, err := render(l.t, body)
		if err != nil {
			return nil, hooks.Malformed("labels.%s: %v", l.name, cleanExecErr(err))
		}
		if v != "" {
			e.Labels[l.name] = v
		}
	}
	for _, f := range s.extras {
		v, err := render(f.t, body)
		if err != nil {
			return nil, hooks.Malformed("fields.%s: %v", f.name, cleanExecErr(err))
		}
		if v != "" {
			if e.Fields == nil {
				e.Fields = map[string]string{}
			}
			e.Fields[f.name] = v
		}
	}
	for i, l := range s.links {
		title, err := render(l[0], body)
		if err != nil {
			return nil, hooks.Malformed("links[%d].title: %v", i, cleanExecErr(err))
		}
		u, err := render(l[1], body)
		if err != nil {
			return nil, hooks.Malformed("links[%d].url: %v", i, cleanExecErr(err))
		}
		if u != "" {
			e.Links = append(e.Links, event.Link{Title: title, URL: u})
		}
	}
	return []event.Event{e}, nil
}

func cleanExecErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": executing "); i >= 0 {
		if j := strings.Index(s[i+len(": executing "):], ": "); j >= 0 {
			return s[i+len(": executing ")+j+2:]
		}
	}
	return s
}
