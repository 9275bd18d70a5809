package xmpp

import (
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Defaults of the adapter's settings.
const (
	DefaultResource     = "opsbot"
	DefaultNick         = "opsbot"
	DefaultMaxPostLen   = 8000
	DefaultSendTimeout  = 30 * time.Second
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 10 * time.Second
	DefaultReconnectMin = time.Second
	DefaultReconnectMax = 2 * time.Minute
)

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain TCP upgraded with STARTTLS, which is then required (the default)
	TLSDirect   = "direct"   // TLS from the first byte (XEP-0368, usually port 5223)
	TLSPlain    = "plain"    // no TLS at all: tests and loopback only; the password crosses in clear
)

// Config is the `adapters.xmpp` section.
type Config struct {
	// JID is the bot's account, "opsbot@example.org".
	JID string `yaml:"jid"`
	// Password of the account; never logged.
	Password config.Secret `yaml:"password"`
	// Resource of the bot's session (default "opsbot").
	Resource string `yaml:"resource"`
	// Server is "host:port" to connect to; empty: the JID's domain (DNS SRV
	// record _xmpp-client._tcp, else port 5222).
	Server string `yaml:"server"`
	// TLS is starttls (default), direct or plain.
	TLS string `yaml:"tls"`
	// CAFile is a PEM file of CAs to trust instead of the system's.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify accepts any server certificate (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Nick is the bot's nickname in rooms (default "opsbot").
	Nick string `yaml:"nick"`
	// Rooms are the MUC rooms to join.
	Rooms []RoomConfig `yaml:"rooms"`
	// MaxPostLen is the largest message body in bytes; longer posts are split (default 8000).
	MaxPostLen int `yaml:"max_post_len"`
	// SendTimeout bounds how long a post waits for the connection, the
	// room join and the server's acknowledgement (default 30s).
	SendTimeout time.Duration `yaml:"send_timeout"`
	// PingInterval is how often the server is pinged (XEP-0199) to find a
	// dead connection (default 30s); PingTimeout how long an answer may take (default 10s).
	PingInterval time.Duration `yaml:"ping_interval"`
	PingTimeout  time.Duration `yaml:"ping_timeout"`
	// ReconnectMin and ReconnectMax bound the backoff between connection
	// attempts (defaults 1s and 2m); it doubles after each failure.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
}

// RoomConfig is one MUC room.
type RoomConfig struct {
	// JID of the room, "ops@conference.example.org".
	JID string `yaml:"jid"`
	// Nick in this room (default: the adapter's nick).
	Nick string `yaml:"nick"`
	// Password of a password-protected room; never logged.
	Password config.Secret `yaml:"password"`
}

// Validate checks the section; problems name their key.
func (c Config) Validate() error {
	var errs config.FieldErrors
	switch {
	case c.JID == "":
		errs.Add("jid", "is required (the bot's account, like opsbot@example.org)")
	case !validBareJID(c.JID):
		errs.Add("jid", "%q is not a bare JID like opsbot@example.org", c.JID)
	}
	if c.Password == "" {
		errs.Add("password", "is required")
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSDirect, TLSPlain:
	default:
		errs.Add("tls", "%q is not one of starttls, direct, plain", c.TLS)
	}
	if c.Server != "" && !strings.Contains(c.Server, ":") {
		errs.Add("server", "%q has no port (host:port)", c.Server)
	}
	if c.MaxPostLen < 0 {
		errs.Add("max_post_len", "must not be negative")
	}
	for key, d := range map[string]time.Duration{
		"send_timeout": c.SendTimeout, "ping_interval": c.PingInterval, "ping_timeout": c.PingTimeout,
		"reconnect_min": c.ReconnectMin, "reconnect_max": c.ReconnectMax,
	} {
		if d < 0 {
			errs.Add(key, "must not be negative")
		}
	}
	if c.ReconnectMin > 0 && c.ReconnectMax > 0 && c.ReconnectMax < c.ReconnectMin {
		errs.Add("reconnect_max", "is less than reconnect_min")
	}
	seen := map[string]bool{}
	for i, r := range c.Rooms {
		p := config.Path("rooms", i, "jid")
		switch {
		case r.JID == "":
			errs.Add(p, "is required")
		case !validBareJID(r.JID):
			errs.Add(p, "%q is not a room JID like ops@conference.example.org", r.JID)
		case seen[normBare(r.JID)]:
			errs.Add(p, "%q is listed twice", r.JID)
		}
		seen[normBare(r.JID)] = true
		if strings.ContainsAny(r.Nick, "/@") {
			errs.Add(config.Path("rooms", i, "nick"), "must not contain / or @")
		}
	}
	if strings.ContainsAny(c.Nick, "/@") {
		errs.Add("nick", "must not contain / or @")
	}
	return errs.Err()
}

// withDefaults fills in the unset settings.
func (c Config) withDefaults() Config {
	if c.Resource == "" {
		c.Resource = DefaultResource
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Nick == "" {
		c.Nick = DefaultNick
	}
	if c.MaxPostLen == 0 {
		c.MaxPostLen = DefaultMaxPostLen
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
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
