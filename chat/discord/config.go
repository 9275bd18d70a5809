package discord

import (
	"net/url"
	"regexp"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Defaults of the adapter's settings.
const (
	DefaultSlashCommand  = "opsbot"
	DefaultThreadArchive = 24 * time.Hour
	DefaultPostTimeout   = 30 * time.Second
	DefaultReconnectMin  = time.Second
	DefaultReconnectMax  = 2 * time.Minute
)

// Config is the `adapters.discord` section.
type Config struct {
	// Token is the bot's token from the developer portal (Bot tab), without "Bot "; never logged.
	Token config.Secret `yaml:"token"`
	// Channels, when set, are the only channel IDs (and their threads) whose
	// messages reach the bot; direct messages always do. Empty: every channel
	// the bot can read.
	Channels []string `yaml:"channels"`
	// MessageContent asks for the privileged MESSAGE_CONTENT intent (default
	// true); without it Discord sends the text only of direct messages and
	// messages that mention the bot.
	MessageContent *bool `yaml:"message_content"`
	// SlashCommand is the name of the one application command registered
	// (`/opsbot command:…`, default "opsbot"); "-" registers none.
	SlashCommand string `yaml:"slash_command"`
	// ThreadArchive is the auto-archive duration of the threads the bot
	// starts: 1h, 24h (default), 72h or 168h.
	ThreadArchive time.Duration `yaml:"thread_archive"`
	// APIURL sends the REST calls to another base URL than Discord's (a
	// rate-limiting proxy such as nirn-proxy, or a test server); the
	// gateway is the one that base's GET /gateway names.
	APIURL string `yaml:"api_url"`
	// PostTimeout bounds one REST call (default 30s).
	PostTimeout time.Duration `yaml:"post_timeout"`
	// ReconnectMin and ReconnectMax bound the backoff between gateway
	// connection attempts (defaults 1s and 2m); it doubles after each failure.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
}

var (
	snowflakeRE = regexp.MustCompile(`^[0-9]{1,20}$`)
	commandRE   = regexp.MustCompile(`^[-_\p{Ll}\p{N}]{1,32}$`)
)

// Validate checks the section; problems name their key.
func (c Config) Validate() error {
	var errs config.FieldErrors
	switch {
	case c.Token == "":
		errs.Add("token", "is required (the bot token from the developer portal)")
	case len(c.Token) > 4 && string(c.Token[:4]) == "Bot ":
		errs.Add("token", "must not start with \"Bot \" (give the token alone)")
	}
	for i, ch := range c.Channels {
		if !snowflakeRE.MatchString(ch) {
			errs.Add(config.Path("channels", i), "%q is not a channel ID (copy it with Developer Mode on)", ch)
		}
	}
	if c.SlashCommand != "" && c.SlashCommand != "-" && !commandRE.MatchString(c.SlashCommand) {
		errs.Add("slash_command", "%q is not a command name (1 to 32 lower-case letters, digits, - or _)", c.SlashCommand)
	}
	switch c.ThreadArchive {
	case 0, time.Hour, 24 * time.Hour, 72 * time.Hour, 168 * time.Hour:
	default:
		errs.Add("thread_archive", "%s is not one of 1h, 24h, 72h, 168h", c.ThreadArchive)
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs.Add("api_url", "%q is not an http(s) URL without a path", c.APIURL)
		}
	}
	for key, d := range map[string]time.Duration{"post_timeout": c.PostTimeout, "reconnect_min": c.ReconnectMin, "reconnect_max": c.ReconnectMax} {
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
	if c.MessageContent == nil {
		yes := true
		c.MessageContent = &yes
	}
	if c.SlashCommand == "" {
		c.SlashCommand = DefaultSlashCommand
	}
	if c.ThreadArchive == 0 {
		c.ThreadArchive = DefaultThreadArchive
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
