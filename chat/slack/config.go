package slack

import (
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Config is the Slack adapter's configuration (the adapters.slack section).
// Zero values take the defaults documented on each field.
type Config struct {
	// Mode is "socket" (the default: Socket Mode, no public URL needed; needs
	// app_token) or "events" (the Events API over HTTP on opsbot's listener:
	// POST /hooks/slack/events, /hooks/slack/interactive and
	// /hooks/slack/commands; needs signing_secret).
	Mode string `yaml:"mode"`
	// BotToken is the bot user OAuth token (xoxb-…), for the Web API.
	BotToken config.Secret `yaml:"bot_token"`
	// AppToken is the app-level token (xapp-…, scope connections:write),
	// for Socket Mode.
	AppToken config.Secret `yaml:"app_token"`
	// SigningSecret verifies the requests Slack sends in events mode.
	SigningSecret config.Secret `yaml:"signing_secret"`

	// Channels, when set, are the only channels the bot reads messages in
	// (by name, "#ops" or "ops", or by ID, "C024BE91L"); direct messages,
	// slash commands and button clicks are read everywhere. Empty: every
	// channel the bot is a member of.
	Channels []string `yaml:"channels"`

	// SlashCommand is the slash command that runs any opsbot command
	// ("/opsbot deploy api to staging"); "/opsbot" by default.
	SlashCommand string `yaml:"slash_command"`
	// SlashCommands map more slash commands to the command text they stand
	// for: {"/status": "status"} makes "/status api degraded" run
	// "status api degraded".
	SlashCommands map[string]string `yaml:"slash_commands"`

	// UploadOver is the size in bytes of a post's text above which the text
	// is uploaded as a file (a snippet) under a short preview rather than
	// posted as a wall of text; 4000 by default; -1 never uploads (long
	// posts are then split into several messages).
	UploadOver int `yaml:"upload_over"`

	// ReconnectMin and ReconnectMax bound the backoff between Socket Mode
	// connection attempts (doubling from min to max; 1s and 2m by default).
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// PingTimeout is how long a Socket Mode connection may stay silent
	// (Slack pings it every few seconds) before it counts as lost; 1m by
	// default.
	PingTimeout time.Duration `yaml:"ping_timeout"`
	// DedupFor is how long an event ID is remembered so that a redelivery
	// (Slack retries an event it thinks was not acknowledged) is handled
	// once; 1h by default.
	DedupFor time.Duration `yaml:"dedup_for"`

	// APIURL is the Web API's base URL: for tests against a fake Slack only.
	APIURL string `yaml:"api_url"`
}

const (
	// ModeSocket and ModeEvents are the two ways of receiving from Slack.
	ModeSocket = "socket"
	ModeEvents = "events"

	defaultSlashCommand = "/opsbot"
	defaultUploadOver   = 4000
	defaultReconnectMin = time.Second
	defaultReconnectMax = 2 * time.Minute
	defaultPingTimeout  = time.Minute
	defaultDedupFor     = time.Hour
)

// Validate checks what types cannot. It does not change c.
func (c Config) Validate() error {
	var errs config.FieldErrors
	switch c.Mode {
	case "", ModeSocket:
		if c.AppToken == "" {
			errs.Add("app_token", "is required in socket mode (an app-level token, xapp-…, with connections:write)")
		} else if !strings.HasPrefix(c.AppToken.Reveal(), "xapp-") {
			errs.Add("app_token", "is not an app-level token (xapp-…)")
		}
	case ModeEvents:
		if c.SigningSecret == "" {
			errs.Add("signing_secret", "is required in events mode (the app's Signing Secret)")
		}
	default:
		errs.Add("mode", "%q is not socket or events", c.Mode)
	}
	if c.BotToken == "" {
		errs.Add("bot_token", "is required (the bot user OAuth token, xoxb-…)")
	} else if !strings.HasPrefix(c.BotToken.Reveal(), "xoxb-") {
		errs.Add("bot_token", "is not a bot token (xoxb-…)")
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		name := strings.TrimPrefix(strings.TrimSpace(ch), "#")
		if name == "" || strings.ContainsAny(name, " \t,") {
			errs.Add(config.Path("channels", i), "%q is not a channel name or ID", ch)
		}
		if seen[strings.ToLower(name)] {
			errs.Add(config.Path("channels", i), "%q is listed twice", ch)
		}
		seen[strings.ToLower(name)] = true
	}
	if c.SlashCommand != "" && !validSlash(c.SlashCommand) {
		errs.Add("slash_command", "%q is not a slash command (/word)", c.SlashCommand)
	}
	keys := make([]string, 0, len(c.SlashCommands))
	for k := range c.SlashCommands {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validSlash(k) {
			errs.Add(config.Path("slash_commands", k), "%q is not a slash command (/word)", k)
		}
		if strings.TrimSpace(c.SlashCommands[k]) == "" {
			errs.Add(config.Path("slash_commands", k), "needs the command text it stands for")
		}
	}
	if c.UploadOver < -1 {
		errs.Add("upload_over", "must be -1 (never), 0 (the default) or a size in bytes")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"reconnect_min", c.ReconnectMin}, {"reconnect_max", c.ReconnectMax}, {"ping_timeout", c.PingTimeout}, {"dedup_for", c.DedupFor}} {
		if d.v < 0 {
			errs.Add(d.key, "must not be negative")
		}
	}
	if c.ReconnectMin > 0 && c.ReconnectMax > 0 && c.ReconnectMax < c.ReconnectMin {
		errs.Add("reconnect_max", "is below reconnect_min")
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add("api_url", "%q is not an http(s) URL", c.APIURL)
		}
	}
	return errs.Err()
}

func validSlash(s string) bool {
	if len(s) < 2 || s[0] != '/' {
		return false
	}
	for _, r := range s[1:] {
		if r == ' ' || r == '\t' || r == '/' {
			return false
		}
	}
	return true
}

// withDefaults returns c with the zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeSocket
	}
	if c.SlashCommand == "" {
		c.SlashCommand = defaultSlashCommand
	}
	if c.UploadOver == 0 {
		c.UploadOver = defaultUploadOver
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = defaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = max(defaultReconnectMax, c.ReconnectMin)
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = defaultPingTimeout
	}
	if c.DedupFor == 0 {
		c.DedupFor = defaultDedupFor
	}
	if c.APIURL != "" && !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	return c
}

// slashText is the command text a slash command stands for, and whether the
// slash command is one of ours.
func (c Config) slashText(command, text string) (string, bool) {
	text = strings.TrimSpace(text)
	if strings.EqualFold(command, c.SlashCommand) {
		if text == "" {
			text = "help"
		}
		return text, true
	}
	for k, v := range c.SlashCommands {
		if strings.EqualFold(k, command) {
			return strings.TrimSpace(v + " " + text), true
		}
	}
	return "", false
}
