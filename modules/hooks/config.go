package hooks

import (
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
	wh "github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/alertmanager"
	"github.com/opsbot/opsbot/hooks/bugsnag"
	"github.com/opsbot/opsbot/hooks/generic"
	"github.com/opsbot/opsbot/hooks/github"
	"github.com/opsbot/opsbot/hooks/gitlab"
	"github.com/opsbot/opsbot/hooks/grafana"
	"github.com/opsbot/opsbot/hooks/graylog"
	"github.com/opsbot/opsbot/hooks/jenkins"
	"github.com/opsbot/opsbot/hooks/newrelic"
	"github.com/opsbot/opsbot/hooks/opsgenie"
	"github.com/opsbot/opsbot/hooks/pagerduty"
	"github.com/opsbot/opsbot/hooks/sentry"
	"github.com/opsbot/opsbot/hooks/zabbix"
)

// Config is the `hooks:` section: one block per enabled source. A source
// without a block answers 404.
type Config struct {
	// MaxBodyBytes bounds a delivery (default 1 MiB); larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`

	GitHub       *Secret    `yaml:"github"`
	GitLab       *Token     `yaml:"gitlab"`
	Jenkins      *Token     `yaml:"jenkins"`
	Alertmanager *Token     `yaml:"alertmanager"`
	Grafana      *Grafana   `yaml:"grafana"`
	Graylog      *Token     `yaml:"graylog"`
	Zabbix       *Token     `yaml:"zabbix"`
	Sentry       *Secret    `yaml:"sentry"`
	Bugsnag      *Token     `yaml:"bugsnag"`
	NewRelic     *Token     `yaml:"newrelic"`
	Opsgenie     *Token     `yaml:"opsgenie"`
	PagerDuty    *PagerDuty `yaml:"pagerduty"`

	// Generic maps NAME to a mapping served at /hooks/generic/NAME.
	Generic map[string]*Generic `yaml:"generic"`
}

// Secret is a source that signs with a shared secret.
type Secret struct {
	Secret config.Secret `yaml:"secret"`
	// Tolerance for the delivery's timestamp, where the source sends one (default 5m).
	Tolerance time.Duration `yaml:"tolerance"`
}

// Token is a source that sends a shared token.
type Token struct {
	Token config.Secret `yaml:"token"`
	// Username, for sources sending basic auth, must match when set.
	Username string `yaml:"username"`
}

// Grafana takes an HMAC secret, a token, or both.
type Grafana struct {
	Secret          config.Secret `yaml:"secret"`
	Header          string        `yaml:"header"`
	TimestampHeader string        `yaml:"timestamp_header"`
	Tolerance       time.Duration `yaml:"tolerance"`
	Token           config.Secret `yaml:"token"`
	Username        string        `yaml:"username"`
}

// PagerDuty takes the subscription secret, or several during a rotation.
type PagerDuty struct {
	Secret  config.Secret   `yaml:"secret"`
	Secrets []config.Secret `yaml:"secrets"`
}

// Generic is one /hooks/generic/NAME mapping; every event field is a Go
// text/template over the parsed JSON body.
type Generic struct {
	Token config.Secret `yaml:"token"`
	HMAC  *GenericHMAC  `yaml:"hmac"`

	Tag         string            `yaml:"tag"`
	Title       string            `yaml:"title"`
	Text        string            `yaml:"text"`
	Severity    string            `yaml:"severity"`
	SeverityMap map[string]string `yaml:"severity_map"`
	Status      string            `yaml:"status"`
	Fingerprint string            `yaml:"fingerprint"`
	Room        string            `yaml:"room"`
	Labels      map[string]string `yaml:"labels"`
	Fields      map[string]string `yaml:"fields"`
	Links       []GenericLink     `yaml:"links"`
}

// GenericHMAC is the signature a generic sender adds.
type GenericHMAC struct {
	Secret   config.Secret `yaml:"secret"`
	Header   string        `yaml:"header"`
	Prefix   string        `yaml:"prefix"`
	Encoding string        `yaml:"encoding"`
}

// GenericLink is a link template.
type GenericLink struct {
	Title string `yaml:"title"`
	URL   string `yaml:"url"`
}

func (g *Generic) mapping() generic.Mapping {
	m := generic.Mapping{
		Token: g.Token.Reveal(), Tag: g.Tag, Title: g.Title, Text: g.Text, Severity: g.Severity,
		SeverityMap: g.SeverityMap, Status: g.Status, Fingerprint: g.Fingerprint, Room: g.Room,
		Labels: g.Labels, Fields: g.Fields,
	}
	if g.HMAC != nil {
		m.HMAC = &generic.HMAC{Secret: g.HMAC.Secret.Reveal(), Header: g.HMAC.Header, Prefix: g.HMAC.Prefix, Encoding: g.HMAC.Encoding}
	}
	for _, l := range g.Links {
		m.Links = append(m.Links, generic.Link{Title: l.Title, URL: l.URL})
	}
	return m
}

// Sources builds the configured sources, by path name. Errors name the key.
func (c *Config) Sources() (map[string]wh.Source, error) {
	var errs config.FieldErrors
	out := map[string]wh.Source{}
	add := func(name string, s wh.Source, err error) {
		if err != nil {
			msg := err.Error()
			if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, strings.SplitN(name, "/", 2)[0]) {
				msg = rest
			}
			errs.Add(name, "%s", msg)
			return
		}
		out[name] = s
	}
	if c.GitHub != nil {
		s, err := github.New(c.GitHub.Secret.Reveal())
		add("github", s, err)
	}
	if c.GitLab != nil {
		s, err := gitlab.New(c.GitLab.Token.Reveal())
		add("gitlab", s, err)
	}
	if c.Jenkins != nil {
		s, err := jenkins.New(c.Jenkins.Token.Reveal())
		add("jenkins", s, err)
	}
	if c.Alertmanager != nil {
		s, err := alertmanager.New(c.Alertmanager.Token.Reveal(), c.Alertmanager.Username)
		add("alertmanager", s, err)
	}
	if g := c.Grafana; g != nil {
		s, err := grafana.New(grafana.Options{Secret: g.Secret.Reveal(), SignatureHeader: g.Header, TimestampHeader: g.TimestampHeader,
			Tolerance: g.Tolerance, Token: g.Token.Reveal(), Username: g.Username})
		add("grafana", s, err)
	}
	if c.Graylog != nil {
		s, err := graylog.New(c.Graylog.Token.Reveal())
		add("graylog", s, err)
	}
	if c.Zabbix != nil {
		s, err := zabbix.New(c.Zabbix.Token.Reveal())
		add("zabbix", s, err)
	}
	if c.Sentry != nil {
		s, err := sentry.New(c.Sentry.Secret.Reveal(), c.Sentry.Tolerance)
		add("sentry", s, err)
	}
	if c.Bugsnag != nil {
		s, err := bugsnag.New(c.Bugsnag.Token.Reveal())
		add("bugsnag", s, err)
	}
	if c.NewRelic != nil {
		s, err := newrelic.New(c.NewRelic.Token.Reveal())
		add("newrelic", s, err)
	}
	if c.Opsgenie != nil {
		s, err := opsgenie.New(c.Opsgenie.Token.Reveal())
		add("opsgenie", s, err)
	}
	if p := c.PagerDuty; p != nil {
		secrets := []string{p.Secret.Reveal()}
		for _, s := range p.Secrets {
			secrets = append(secrets, s.Reveal())
		}
		s, err := pagerduty.New(secrets...)
		add("pagerduty", s, err)
	}
	for name, g := range c.Generic {
		path := config.Path("generic", name)
		if !validName(name) {
			errs.Add(path, "a name may hold letters, digits, '-' and '_' only")
			continue
		}
		if g == nil {
			errs.Add(path, "is empty")
			continue
		}
		s, err := generic.New(g.mapping())
		if err != nil {
			errs.Merge(path, err)
			continue
		}
		out["generic/"+name] = s
	}
	if c.MaxBodyBytes < 0 {
		errs.Add("max_body_bytes", "must be positive")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Validate checks every configured source.
func (c *Config) Validate() error {
	_, err := c.Sources()
	return err
}
