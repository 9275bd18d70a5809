package mattermost

import (
	"net/url"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Defaults of the adapter's settings.
const (
	// DefaultMaxPostLen is Mattermost's limit on a post's message (16383
	// characters since server 5.0); as bytes it is never too much.
	DefaultMaxPostLen     = 16383
	DefaultRequestTimeout = 30 * time.Second
	DefaultPingInterval   = 30 * time.Second
	DefaultPingTimeout    = 10 * time.Second
	DefaultReconnectMin   = time.Second
	DefaultReconnectMax   = 2 * time.Minute
	// ActionPath is where the bot's HTTP listener takes button clicks
	// (integration actions) from the Mattermost server.
	ActionPath = "/hooks/mattermost/actions"
)

// Config is the `adapters.mattermost` section.
type Config struct {
	// URL of the Mattermost server, "https://chat.example.com".
	URL string `yaml:"url"`
	// Token is a bot account's access token or a personal access token; never logged.
	Token config.Secret `yaml:"token"`
	// Team is the team (its name, as in the URL) the Channels belong to;
	// needed to name channels by name rather than by ID.
	Team string `yaml:"team"`
	// Channels are joined at start (names in Team, or channel IDs). The
	// bot hears every channel it is a member of either way.
	Channels []string `yaml:"channels"`
	// ActionURL is the address of opsbot's ActionPath as the Mattermost
	// server reaches it ("https://opsbot.example.com/hooks/mattermost/actions").
	// Without it buttons are rendered as numbered choices.
	ActionURL string `yaml:"action_url"`
	// ActionSecret is put in every button's context and checked on each
	// click; default: derived from Token. Never logged.
	ActionSecret config.Secret `yaml:"action_secret"`
	// MaxPostLen is the largest message in bytes; longer posts are split (default 16383).
	MaxPostLen int `yaml:"max_post_len"`
	// RequestTimeout bounds one REST request (default 30s).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// PingInterval is how often the WebSocket is pinged (default 30s);
	// no frame for PingInterval+PingTimeout (default 10s) breaks it.
	PingInterval time.Duration `yaml:"ping_interval"`
	PingTimeout  time.Duration `yaml:"ping_timeout"`
	// ReconnectMin and ReconnectMax bound the backoff between connection
	// attempts (defaults 1s and 2m); it doubles after each failure.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
}

// Validate checks the section; problems name their key.
func (c Config) Validate() error {
	var errs config.FieldErrors
	if c.URL == "" {
		errs.Add("url", "is required (the Mattermost server, like https://chat.example.com)")
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("url", "%q is not an http(s) URL", c.URL)
	}
	if c.Token == "" {
		errs.Add("token", "is required (a bot account's token or a personal access token)")
	}
	if c.ActionURL != "" {
		if u, err := url.Parse(c.ActionURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add("action_url", "%q is not an http(s) URL", c.ActionURL)
		}
	}
	for i, ch := range c.Channels {
		switch {
		case strings.TrimPrefix(ch, "~") == "":
			errs.Add(config.Path("channels", i), "is empty")
		case !isID(ch) && c.Team == "":
			errs.Add(config.Path("channels", i), "%q is a channel name: set team, or give the channel ID", ch)
		}
	}
	if c.MaxPostLen < 0 {
		errs.Add("max_post_len", "must not be negative")
	}
	for key, d := range map[string]time.Duration{
		"request_timeout": c.RequestTimeout, "ping_interval": c.PingInterval, "ping_timeout": c.PingTimeout,
		"reconnect_min": c.ReconnectMin, "reconnect_max": c.ReconnectMax,
	} {
		if d < 0 {
			errs.Add(key, "must not be negative")
		}
	}
	if c.ReconnectMin > 0 && c.ReconnectMax > 0 && c.ReconnectMax < c.ReconnectMin {
		errs.Add("reconnect_max", "is less than reconnect_min")
	}
	return errs.Err()
}

// withDefaults fills in the unset settings.
func (c Config) withDefaults() Config {
	c.URL = strings.TrimRight(c.URL, "/")
	if c.MaxPostLen == 0 {
		c.MaxPostLen = DefaultMaxPostLen
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = max(DefaultReconnectMax, c.ReconnectMin)
	}
	return c
}

// isID reports whether s looks like a Mattermost ID: 26 characters of [a-z0-9].
func isID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
