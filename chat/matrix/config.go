package matrix

import (
	"net/url"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Defaults of the adapter's settings.
const (
	DefaultMaxPostLen   = 8000
	DefaultSyncTimeout  = 30 * time.Second
	DefaultPostTimeout  = 30 * time.Second
	DefaultReconnectMin = time.Second
	DefaultReconnectMax = 2 * time.Minute
	DefaultMsgType      = "m.notice"
)

// Config is the `adapters.matrix` section.
type Config struct {
	// Homeserver is the base URL of the client-server API, "https://matrix.example.org".
	Homeserver string `yaml:"homeserver"`
	// UserID is the bot's account, "@opsbot:example.org".
	UserID string `yaml:"user_id"`
	// AccessToken of the bot's account; or Password, to log in (and log in
	// again when the token expires). Never logged.
	AccessToken config.Secret `yaml:"access_token"`
	Password    config.Secret `yaml:"password"`
	// DeviceID to log in as (keeps one device across restarts); empty: the
	// homeserver picks one.
	DeviceID string `yaml:"device_id"`
	// Rooms are room IDs (!abc:example.org) or aliases (#ops:example.org) to join.
	Rooms []string `yaml:"rooms"`
	// AutoJoin accepts every invitation (direct messages included); default false.
	AutoJoin bool `yaml:"auto_join"`
	// MsgType of the bot's posts: m.notice (default: clients show them as a
	// bot's, and bots never answer them) or m.text.
	MsgType string `yaml:"msgtype"`
	// MaxPostLen is the largest post text in bytes; longer posts are split (default 8000).
	MaxPostLen int `yaml:"max_post_len"`
	// SyncTimeout is how long one /sync waits for news (default 30s).
	SyncTimeout time.Duration `yaml:"sync_timeout"`
	// PostTimeout bounds one call other than /sync (default 30s).
	PostTimeout time.Duration `yaml:"post_timeout"`
	// ReconnectMin and ReconnectMax bound the backoff after a failed /sync
	// (defaults 1s and 2m); it doubles after each failure.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
}

// Validate checks the section; problems name their key.
func (c Config) Validate() error {
	var errs config.FieldErrors
	if c.Homeserver == "" {
		errs.Add("homeserver", "is required (the client-server API's base URL, like https://matrix.example.org)")
	} else if u, err := url.Parse(c.Homeserver); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs.Add("homeserver", "%q is not an http(s) URL", c.Homeserver)
	}
	if !validID(c.UserID, '@') {
		errs.Add("user_id", "%q is not a user ID like @opsbot:example.org", c.UserID)
	}
	if c.AccessToken == "" && c.Password == "" {
		errs.Add("access_token", "is required, or password")
	}
	for i, r := range c.Rooms {
		if !validID(r, '!') && !validID(r, '#') {
			errs.Add(config.Path("rooms", i), "%q is neither a room ID (!abc:example.org) nor an alias (#ops:example.org)", r)
		}
	}
	switch c.MsgType {
	case "", "m.notice", "m.text":
	default:
		errs.Add("msgtype", "%q is not m.notice or m.text", c.MsgType)
	}
	if c.MaxPostLen < 0 || c.MaxPostLen > 30000 {
		errs.Add("max_post_len", "must be between 0 and 30000 (an event holds 64 KiB, the text twice)")
	}
	for key, d := range map[string]time.Duration{"sync_timeout": c.SyncTimeout, "post_timeout": c.PostTimeout, "reconnect_min": c.ReconnectMin, "reconnect_max": c.ReconnectMax} {
		if d < 0 {
			errs.Add(key, "must not be negative")
		}
	}
	if c.ReconnectMin > 0 && c.ReconnectMax > 0 && c.ReconnectMax < c.ReconnectMin {
		errs.Add("reconnect_max", "is less than reconnect_min")
	}
	return errs.Err()
}

// validID reports whether s is sigil + localpart + ":" + server.
func validID(s string, sigil byte) bool {
	if len(s) < 4 || s[0] != sigil {
		return false
	}
	local, server, ok := strings.Cut(s[1:], ":")
	return ok && local != "" && server != "" && !strings.ContainsAny(s, " \t\n/")
}

// withDefaults fills in the unset settings.
func (c Config) withDefaults() Config {
	c.Homeserver = strings.TrimRight(c.Homeserver, "/")
	if c.MsgType == "" {
		c.MsgType = DefaultMsgType
	}
	if c.MaxPostLen == 0 {
		c.MaxPostLen = DefaultMaxPostLen
	}
	if c.SyncTimeout == 0 {
		c.SyncTimeout = DefaultSyncTimeout
	}
	if c.PostTimeout == 0 {
		c.PostTimeout = DefaultPostTimeout
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = max(DefaultReconnectMax, c.ReconnectMin)
	}
	return c
}
