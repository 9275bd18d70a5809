package statuspage

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Config is the `statuspage:` section.
type Config struct {
	// Title heads the page; default "Status".
	Title string `yaml:"title"`
	// URL is the page's public address (links in the Atom feed and JSON);
	// default: the address the request came to.
	URL string `yaml:"url"`
	// Room hears every change ("#ops", "slack:#status"); empty: none.
	Room string `yaml:"room"`
	// HistoryDays is how far back past incidents are shown; default 14.
	HistoryDays int `yaml:"history_days"`
	// MaxAge is the Cache-Control max-age of the public pages; default 30s.
	MaxAge config.Duration `yaml:"max_age"`
	// Components are what the page shows, in order.
	Components []ComponentConfig `yaml:"components"`
	// Maintenance lists scheduled maintenance windows.
	Maintenance []WindowConfig `yaml:"maintenance"`
	// Atlassian mirrors components and incidents to Atlassian Statuspage.
	Atlassian *AtlassianConfig `yaml:"atlassian"`
}

// ComponentConfig is one component.
type ComponentConfig struct {
	Name        string   `yaml:"name"`
	Group       string   `yaml:"group"`
	Aliases     []string `yaml:"aliases"`
	Description string   `yaml:"description"`
	// RemoteID is the component's ID on Atlassian Statuspage; default: found by name.
	RemoteID string `yaml:"remote_id"`
}

// WindowConfig is a scheduled maintenance window.
type WindowConfig struct {
	Name       string   `yaml:"name"`
	Message    string   `yaml:"message"`
	Components []string `yaml:"components"`
	Starts     string   `yaml:"starts"` // RFC 3339, or "2006-01-02 15:04" in the config's timezone
	Ends       string   `yaml:"ends"`
}

// AtlassianConfig is the Statuspage mirror.
type AtlassianConfig struct {
	PageID string        `yaml:"page_id"`
	APIKey config.Secret `yaml:"api_key"`
	// BaseURL is the API's root; default Atlassian's public v1 API.
	BaseURL string `yaml:"base_url"`
}

// Validate checks names, aliases and windows.
func (c *Config) Validate() error {
	var errs config.FieldErrors
	seen := map[string]string{}
	for i, comp := range c.Components {
		if strings.TrimSpace(comp.Name) == "" {
			errs.Add(fmt.Sprintf("components[%d].name", i), "is required")
			continue
		}
		for j, n := range append([]string{comp.Name}, comp.Aliases...) {
			k := strings.ToLower(strings.Join(strings.Fields(n), " "))
			if other, dup := seen[k]; dup {
				field := fmt.Sprintf("components[%d].name", i)
				if j > 0 {
					field = fmt.Sprintf("components[%d].aliases[%d]", i, j-1)
				}
				errs.Add(field, "%q is already the name or an alias of %s", n, other)
			}
			seen[k] = comp.Name
			if _, st, ok := SplitState(strings.Fields(n)); ok && st != "" && len(strings.Fields(n)) == 1 {
				errs.Add(fmt.Sprintf("components[%d].name", i), "%q is a state word; a component cannot be named so", n)
			}
		}
	}
	for i, w := range c.Maintenance {
		if _, _, err := w.times(time.UTC); err != nil {
			errs.Add(fmt.Sprintf("maintenance[%d]", i), "%v", err)
		}
		for _, name := range w.Components {
			if _, ok := seen[strings.ToLower(name)]; !ok {
				errs.Add(fmt.Sprintf("maintenance[%d].components", i), "%q is not a component", name)
			}
		}
	}
	if a := c.Atlassian; a != nil {
		if a.PageID == "" {
			errs.Add("atlassian.page_id", "is required")
		}
		if a.APIKey == "" {
			errs.Add("atlassian.api_key", "is required")
		}
		if a.BaseURL != "" {
			if u, err := url.Parse(a.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs.Add("atlassian.base_url", "%q is not an http(s) URL", a.BaseURL)
			}
		}
	}
	if c.HistoryDays < 0 {
		errs.Add("history_days", "must not be negative")
	}
	return errs.Err()
}

// Windows returns the maintenance windows with times read in loc.
func (c *Config) Windows(loc *time.Location) []Window {
	out := make([]Window, 0, len(c.Maintenance))
	for _, w := range c.Maintenance {
		s, e, err := w.times(loc)
		if err != nil {
			continue
		}
		out = append(out, Window{Name: w.Name, Message: w.Message, Components: w.Components, Starts: s, Ends: e})
	}
	return out
}

func (w WindowConfig) times(loc *time.Location) (time.Time, time.Time, error) {
	if strings.TrimSpace(w.Name) == "" {
		return time.Time{}, time.Time{}, errors.New("name is required")
	}
	s, err := parseTime(w.Starts, loc)
	if err != nil {
		return s, s, fmt.Errorf("starts: %w", err)
	}
	e, err := parseTime(w.Ends, loc)
	if err != nil {
		return s, e, fmt.Errorf("ends: %w", err)
	}
	if !e.After(s) {
		return s, e, errors.New("ends must be after starts")
	}
	return s, e, nil
}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		return t, fmt.Errorf("%q is neither RFC 3339 nor 2006-01-02 15:04", s)
	}
	return t, nil
}
