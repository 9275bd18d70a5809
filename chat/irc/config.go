package irc

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/lrstanley/girc"

	"github.com/opsbot/opsbot/config"
)

// Config is the IRC adapter's configuration (the adapters.irc section).
// Zero values take the defaults documented on each field.
type Config struct {
	// Server is host:port; the port defaults to 6697 with TLS, else 6667.
	Server string `yaml:"server"`
	// ServerPassword is sent with PASS before registration, when set.
	ServerPassword config.Secret `yaml:"server_password"`
	TLS            TLSConfig     `yaml:"tls"`

	// Nick is the bot's nickname; AltNicks are tried in order when it is
	// taken, then Nick (cut to 7 characters) followed by 1, 2, … 99.
	Nick     string   `yaml:"nick"`
	AltNicks []string `yaml:"alt_nicks"`
	// User is the username (ident), Nick by default; RealName is the
	// "real name" (GECOS), "opsbot" by default.
	User     string `yaml:"user"`
	RealName string `yaml:"realname"`

	SASL     SASLConfig     `yaml:"sasl"`
	NickServ NickServConfig `yaml:"nickserv"`

	// Channels are joined at connect and after every reconnect.
	Channels []ChannelConfig `yaml:"channels"`

	Flood FloodConfig `yaml:"flood"`

	// ReconnectMin and ReconnectMax bound the backoff between connection
	// attempts (doubling from min to max; 1s and 2m by default).
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// RejoinInterval is how often channels the bot could not join (bad key,
	// ban, kick) are tried again, and a taken nick reclaimed (30s by default).
	RejoinInterval time.Duration `yaml:"rejoin_interval"`
	// PingInterval is how often the adapter checks the connection with a
	// PING (at least 20s, 1m by default); the connection counts as lost when
	// no PONG comes within PingTimeout (1m by default).
	PingInterval time.Duration `yaml:"ping_interval"`
	PingTimeout  time.Duration `yaml:"ping_timeout"`
	// PostTimeout bounds how long a post waits for the connection (and the
	// channel join) before failing, and then for the server to confirm it
	// processed the post's lines (30s by default).
	PostTimeout time.Duration `yaml:"post_timeout"`

	// TrustedMasks map exact nick!user@host masks (with * and ? wildcards)
	// to the identity ID a matching user gets when they are not logged in to
	// a services account. See docs/adapters/irc.md.
	TrustedMasks map[string]string `yaml:"trusted_masks"`

	// Format is "irc" (the default: bold, italics, monospace and severity
	// colours as mIRC control codes) or "plain" (text only).
	Format string `yaml:"format"`
}

// TLSConfig configures TLS to the server.
type TLSConfig struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the certificate authorities to trust instead
	// of the system's.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name to verify the certificate against (the
	// server's host by default).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any certificate: for tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// CertFile and KeyFile are a client certificate (PEM), for SASL
	// EXTERNAL or a network's CertFP.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// SASLConfig configures SASL authentication during registration.
type SASLConfig struct {
	// Mechanism is "plain", "external" or "" (no SASL).
	Mechanism string        `yaml:"mechanism"`
	User      string        `yaml:"user"`
	Password  config.Secret `yaml:"password"`
}

// NickServConfig configures identifying to NickServ after registration, for
// networks without SASL.
type NickServConfig struct {
	Password config.Secret `yaml:"password"`
	// Account is sent before the password (IDENTIFY account password), when set.
	Account string `yaml:"account"`
	// Service is the nick of the service, "NickServ" by default.
	Service string `yaml:"service"`
}

// ChannelConfig is a channel to join.
type ChannelConfig struct {
	Name string        `yaml:"name"`
	Key  config.Secret `yaml:"key"`
}

// FloodConfig is the token bucket every line the bot sends passes through:
// Burst lines at once, then Rate lines a second (1 and 4 by default).
type FloodConfig struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

const (
	defaultRealName       = "opsbot"
	defaultRate           = 1
	defaultBurst          = 4
	defaultReconnectMin   = time.Second
	defaultReconnectMax   = 2 * time.Minute
	defaultRejoinInterval = 30 * time.Second
	defaultPingInterval   = time.Minute
	defaultPingTimeout    = time.Minute
	defaultPostTimeout    = 30 * time.Second
	defaultNickServ       = "NickServ"
	// guestPrefix starts the identity ID of a user known only by nick.
	guestPrefix = "nick:"
)

// Validate checks what types cannot. It does not change c.
func (c Config) Validate() error {
	var errs config.FieldErrors
	if c.Server == "" {
		errs.Add("server", "is required (host:port)")
	} else if _, _, err := splitServer(c.Server, c.TLS.Enabled); err != nil {
		errs.Add("server", "%v", err)
	}
	if !girc.IsValidNick(c.Nick) {
		errs.Add("nick", "%q is not a valid IRC nickname", c.Nick)
	}
	for i, n := range c.AltNicks {
		if !girc.IsValidNick(n) {
			errs.Add(config.Path("alt_nicks", i), "%q is not a valid IRC nickname", n)
		}
	}
	if c.User != "" && !girc.IsValidUser(c.User) {
		errs.Add("user", "%q is not a valid IRC username", c.User)
	}
	switch strings.ToLower(c.SASL.Mechanism) {
	case "":
	case "plain":
		if c.SASL.User == "" {
			errs.Add("sasl.user", "is required for SASL PLAIN")
		}
		if c.SASL.Password == "" {
			errs.Add("sasl.password", "is required for SASL PLAIN")
		}
	case "external":
		if !c.TLS.Enabled || c.TLS.CertFile == "" {
			errs.Add("sasl.mechanism", "external needs tls.enabled and a client certificate (tls.cert_file)")
		}
	default:
		errs.Add("sasl.mechanism", "%q is not plain or external", c.SASL.Mechanism)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs.Add("tls.key_file", "cert_file and key_file go together")
	}
	if !c.TLS.Enabled && (c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.InsecureSkipVerify) {
		errs.Add("tls.enabled", "is false, but other tls keys are set")
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		if !girc.IsValidChannel(ch.Name) {
			errs.Add(config.Path("channels", i, "name"), "%q is not a valid IRC channel name", ch.Name)
		}
		if seen[fold(ch.Name)] {
			errs.Add(config.Path("channels", i, "name"), "%q is listed twice", ch.Name)
		}
		seen[fold(ch.Name)] = true
	}
	if c.Flood.Rate < 0 {
		errs.Add("flood.rate", "must not be negative")
	}
	if c.Flood.Burst < 0 {
		errs.Add("flood.burst", "must not be negative")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"reconnect_min", c.ReconnectMin}, {"reconnect_max", c.ReconnectMax}, {"rejoin_interval", c.RejoinInterval},
		{"ping_interval", c.PingInterval}, {"ping_timeout", c.PingTimeout}, {"post_timeout", c.PostTimeout},
	} {
		if d.v < 0 {
			errs.Add(d.key, "must not be negative")
		}
	}
	if c.ReconnectMin > 0 && c.ReconnectMax > 0 && c.ReconnectMax < c.ReconnectMin {
		errs.Add("reconnect_max", "is below reconnect_min")
	}
	for mask, id := range c.TrustedMasks {
		if _, err := parseMask(mask); err != nil {
			errs.Add(config.Path("trusted_masks", mask), "%v", err)
		}
		if id == "" || strings.HasPrefix(id, guestPrefix) || strings.ContainsAny(id, " \t\r\n") {
			errs.Add(config.Path("trusted_masks", mask), "%q: the identity must be a word, not starting with %q", id, guestPrefix)
		}
	}
	switch c.Format {
	case "", "irc", "plain":
	default:
		errs.Add("format", "%q is not irc or plain", c.Format)
	}
	return errs.Err()
}

// withDefaults returns c with the zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.User == "" {
		c.User = c.Nick
	}
	if c.RealName == "" {
		c.RealName = defaultRealName
	}
	if c.NickServ.Service == "" {
		c.NickServ.Service = defaultNickServ
	}
	if c.Flood.Rate == 0 {
		c.Flood.Rate = defaultRate
	}
	if c.Flood.Burst == 0 {
		c.Flood.Burst = defaultBurst
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = defaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = max(defaultReconnectMax, c.ReconnectMin)
	}
	if c.RejoinInterval == 0 {
		c.RejoinInterval = defaultRejoinInterval
	}
	if c.PingInterval == 0 {
		c.PingInterval = defaultPingInterval
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = defaultPingTimeout
	}
	if c.PostTimeout == 0 {
		c.PostTimeout = defaultPostTimeout
	}
	if c.Format == "" {
		c.Format = "irc"
	}
	return c
}

// splitServer splits host:port, defaulting the port.
func splitServer(server string, tls bool) (string, int, error) {
	host, portText, err := net.SplitHostPort(server)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			host, portText = server, ""
		} else {
			return "", 0, fmt.Errorf("%q is not host:port", server)
		}
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q has no host", server)
	}
	if portText == "" {
		if tls {
			return host, 6697, nil
		}
		return host, 6667, nil
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not 1-65535", server, portText)
	}
	return host, port, nil
}
