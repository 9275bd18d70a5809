package monitor

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Config is the `monitors:` section.
type Config struct {
	// Sources are the monitoring tools, by name.
	Sources map[string]SourceConfig `yaml:"sources"`
	// Checks are the monitors.
	Checks []Check `yaml:"checks"`
	// GraphSource is the source `graph` and `query` use when none is named
	// (default: the only Prometheus or Graphite source).
	GraphSource string `yaml:"graph_source"`
	// ConsoleURL is opsbot's public base URL, used to link a graph in chats
	// that can't take an image upload ("https://opsbot.example.com").
	ConsoleURL string `yaml:"console_url"`
}

// Check is one monitor.
type Check struct {
	Name string `yaml:"name"`
	// Every is how often it is checked (default 1m); heartbeats are also
	// evaluated when their event arrives.
	Every config.Duration `yaml:"every"`
	// Source and Query: a query monitor (Prometheus, Graphite, Elasticsearch).
	Source string `yaml:"source"`
	Query  string `yaml:"query"`
	// Reduce turns several series into one value: max (default), min, sum, avg.
	Reduce string `yaml:"reduce"`
	// Conditions: any that holds makes the monitor breach.
	Above  *float64        `yaml:"above"`
	Below  *float64        `yaml:"below"`
	Change *Change         `yaml:"change"`
	Absent config.Duration `yaml:"absent"` // no data for this long
	// For is how long a condition must hold before the monitor fires.
	For config.Duration `yaml:"for"`

	HTTP      *HTTPCheck `yaml:"http"`
	Heartbeat *Heartbeat `yaml:"heartbeat"`

	Severity string            `yaml:"severity"` // info, warning (default), critical
	Labels   map[string]string `yaml:"labels"`
	Room     string            `yaml:"room"`
	Text     string            `yaml:"text"` // what it means, added to its events
}

// Change is a rate-of-change condition: the value moved by at least By
// (an absolute amount, or a percentage of the earlier value when Percent)
// within the window, up or down.
type Change struct {
	By      float64         `yaml:"by"`
	Percent bool            `yaml:"percent"`
	Within  config.Duration `yaml:"within"`
}

// HTTPCheck probes an endpoint: it breaches when the request fails, the
// status differs, the body doesn't match, or it is slower than Latency.
type HTTPCheck struct {
	URL     string                   `yaml:"url"`
	Method  string                   `yaml:"method"`
	Status  int                      `yaml:"status"` // default 200
	Body    string                   `yaml:"body"`   // a regular expression the body must match
	Latency config.Duration          `yaml:"latency"`
	Timeout config.Duration          `yaml:"timeout"`
	Headers map[string]config.Secret `yaml:"headers"`
	body    *regexp.Regexp
}

// Heartbeat expects an event: the monitor fires when none with Tag (and
// these labels) arrived for Every (plus Grace), and resolves when one does.
type Heartbeat struct {
	Tag    string            `yaml:"tag"`
	Labels map[string]string `yaml:"labels"`
	Every  config.Duration   `yaml:"every"`
	Grace  config.Duration   `yaml:"grace"`
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// Kind is prometheus/graphite/elasticsearch (by source), http or heartbeat.
func (c *Check) Kind(sources map[string]SourceConfig) string {
	switch {
	case c.HTTP != nil:
		return "http"
	case c.Heartbeat != nil:
		return "heartbeat"
	}
	return sources[c.Source].Type
}

// Interval is how often the check runs.
func (c *Check) Interval() time.Duration {
	if c.Every.D() > 0 {
		return c.Every.D()
	}
	return time.Minute
}

// Validate checks the section.
func (cfg *Config) Validate() error {
	var errs config.FieldErrors
	names := make([]string, 0, len(cfg.Sources))
	for name, s := range cfg.Sources {
		names = append(names, name)
		errs.Merge(config.Path("sources", name), s.Validate())
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for i := range cfg.Checks {
		c := &cfg.Checks[i]
		p := func(f ...any) string { return config.Path(append([]any{"checks", i}, f...)...) }
		if !namePattern.MatchString(c.Name) {
			errs.Add(p("name"), "%q: a name of lower-case letters, digits, '.', '_' or '-' is required", c.Name)
		} else if seen[c.Name] {
			errs.Add(p("name"), "%q is used twice", c.Name)
		}
		seen[c.Name] = true
		if c.Every.D() < 0 || (c.Every.D() > 0 && c.Every.D() < time.Second) {
			errs.Add(p("every"), "must be at least 1s")
		}
		kinds := 0
		if c.HTTP != nil {
			kinds++
			if u, err := url.Parse(c.HTTP.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs.Add(p("http", "url"), "must be an http:// or https:// URL")
			}
			if c.HTTP.Body != "" {
				re, err := regexp.Compile(c.HTTP.Body)
				if err != nil {
					errs.Add(p("http", "body"), "not a regular expression: %v", err)
				}
				c.HTTP.body = re
			}
		}
		if c.Heartbeat != nil {
			kinds++
			if c.Heartbeat.Tag == "" {
				errs.Add(p("heartbeat", "tag"), "is required: the tag of the event expected")
			}
			if c.Heartbeat.Every.D() <= 0 {
				errs.Add(p("heartbeat", "every"), "is required: how often the event comes")
			}
		}
		if c.Source != "" || c.Query != "" {
			kinds++
			if _, ok := cfg.Sources[c.Source]; !ok {
				errs.Add(p("source"), "%q is not a source (sources: %s)", c.Source, strings.Join(names, ", "))
			}
			if c.Query == "" {
				errs.Add(p("query"), "is required with a source")
			}
			if c.Above == nil && c.Below == nil && c.Change == nil && c.Absent.D() <= 0 {
				errs.Add(p(), "has no condition: give above, below, change or absent")
			}
			if c.Change != nil && (c.Change.By <= 0 || c.Change.Within.D() <= 0) {
				errs.Add(p("change"), "needs a positive by and within")
			}
		}
		if kinds != 1 {
			errs.Add(p(), "give exactly one of source+query, http or heartbeat")
		}
		switch c.Reduce {
		case "", "max", "min", "sum", "avg":
		default:
			errs.Add(p("reduce"), "%q is not max, min, sum or avg", c.Reduce)
		}
		switch c.Severity {
		case "", "info", "warning", "critical":
		default:
			errs.Add(p("severity"), "%q is not info, warning or critical", c.Severity)
		}
	}
	if cfg.GraphSource != "" {
		if _, ok := cfg.Sources[cfg.GraphSource]; !ok {
			errs.Add("graph_source", "%q is not a source", cfg.GraphSource)
		}
	}
	return errs.Err()
}

// describe says what the check's conditions are, for people.
func (c *Check) describe() string {
	var parts []string
	if c.Above != nil {
		parts = append(parts, "> "+fmtValue(*c.Above))
	}
	if c.Below != nil {
		parts = append(parts, "< "+fmtValue(*c.Below))
	}
	if c.Change != nil {
		by := fmtValue(c.Change.By)
		if c.Change.Percent {
			by += "%"
		}
		parts = append(parts, fmt.Sprintf("changes by %s within %s", by, FormatDuration(c.Change.Within.D())))
	}
	if c.Absent.D() > 0 {
		parts = append(parts, "no data for "+FormatDuration(c.Absent.D()))
	}
	s := strings.Join(parts, " or ")
	if c.For.D() > 0 {
		s += " for " + FormatDuration(c.For.D())
	}
	return s
}

func fmtValue(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}

// FormatDuration writes d without trailing zero units: 1m, 24h, 1h30m.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
