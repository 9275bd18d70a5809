package teams

import (
	"net/url"
	"strings"
	"time"

	"github.com/opsbot/opsbot/config"
)

// Defaults of the adapter's settings: the public Bot Framework endpoints.
const (
	DefaultOpenIDMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	DefaultIssuer            = "https://api.botframework.com"
	DefaultScope             = "https://api.botframework.com/.default"
	// DefaultServiceURL is where posts go for a conversation no activity
	// has come from yet (Teams' global service URL).
	DefaultServiceURL = "https://smba.trafficmanager.net/teams/"
	// DefaultMaxPostLen keeps a post (with its card's JSON) under Teams'
	// message limit of about 28 KB.
	DefaultMaxPostLen     = 16000
	DefaultRequestTimeout = 30 * time.Second
	// DefaultKeyRefresh is the least time between two fetches of the
	// signing keys prompted by an unknown key ID.
	DefaultKeyRefresh = time.Minute
	// MessagesPath is the bot's messaging endpoint on opsbot's listener.
	MessagesPath = "/hooks/teams"
)

// Config is the `adapters.teams` section.
type Config struct {
	// AppID is the bot's Microsoft App ID (its Entra ID application, a GUID).
	AppID string `yaml:"app_id"`
	// AppPassword is the application's client secret; never logged.
	AppPassword config.Secret `yaml:"app_password"`
	// TenantID makes the bot single-tenant: tokens come from that tenant
	// (default: multi-tenant, from botframework.com).
	TenantID string `yaml:"tenant_id"`
	// ServiceURL is where posts go for conversations no activity has come
	// from since opsbot started (default Teams' global service URL).
	ServiceURL string `yaml:"service_url"`
	// TokenURL is the OAuth token endpoint (default: Microsoft's login for
	// TenantID, else for botframework.com); Scope the scope asked for.
	TokenURL string `yaml:"token_url"`
	Scope    string `yaml:"scope"`
	// OpenIDMetadataURL is the Bot Framework's OpenID document, naming the
	// keys that sign inbound requests; Issuer the tokens' issuer.
	OpenIDMetadataURL string `yaml:"openid_metadata_url"`
	Issuer            string `yaml:"issuer"`
	// ChannelID is the Bot Framework channel the keys must endorse (default "msteams").
	ChannelID string `yaml:"channel_id"`
	// MaxPostLen is the largest text in bytes; longer posts are split (default 16000).
	MaxPostLen int `yaml:"max_post_len"`
	// RequestTimeout bounds one request to the connector or the login (default 30s).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// KeyRefresh is the least time between two key fetches prompted by an
	// unknown key ID (default 1m).
	KeyRefresh time.Duration `yaml:"key_refresh"`
	// Webhooks are notification-only rooms: a room name → the URL of the
	// channel's incoming webhook or Workflows webhook (a secret: whoever has
	// it can post). Posts to "teams:NAME" go there as Adaptive Cards.
	Webhooks map[string]config.Secret `yaml:"webhooks"`
	// OutgoingWebhooks are the teams' outgoing webhooks (see outgoing.go):
	// a name → the security token Teams showed when it was created.
	OutgoingWebhooks map[string]OutgoingWebhook `yaml:"outgoing_webhooks"`
	// ReplyWait bounds how long an outgoing webhook's request waits for
	// the bot's answer, which goes in the response (default 4s; Teams
	// gives up after 5s).
	ReplyWait time.Duration `yaml:"reply_wait"`
}

// Validate checks the section; problems name their key.
func (c Config) Validate() error {
	var errs config.FieldErrors
	switch {
	case c.AppID == "" && len(c.Webhooks) == 0 && len(c.OutgoingWebhooks) == 0:
		errs.Add("app_id", "is required (the bot's Microsoft App ID), unless only webhooks or outgoing_webhooks are used")
	case c.AppID == "" && c.AppPassword != "":
		errs.Add("app_id", "is required with app_password")
	case c.AppID != "" && c.AppPassword == "":
		errs.Add("app_password", "is required (the app's client secret)")
	}
	for name, u := range c.Webhooks {
		key := config.Path("webhooks", name)
		switch parsed, err := url.Parse(u.Reveal()); {
		case name == "" || strings.ContainsAny(name, " ;"):
			errs.Add(key, "the room name must be a word")
		case err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "":
			errs.Add(key, "is not an http(s) URL") // the URL is a secret: not repeated here
		}
	}
	c.validateOutgoing(&errs)
	if c.TenantID != "" && strings.ContainsAny(c.TenantID, "/?#") {
		errs.Add("tenant_id", "%q is not a tenant ID", c.TenantID)
	}
	for key, v := range map[string]string{"service_url": c.ServiceURL, "token_url": c.TokenURL, "openid_metadata_url": c.OpenIDMetadataURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add(key, "%q is not an http(s) URL", v)
		}
	}
	if c.MaxPostLen < 0 {
		errs.Add("max_post_len", "must not be negative")
	}
	if c.RequestTimeout < 0 {
		errs.Add("request_timeout", "must not be negative")
	}
	if c.KeyRefresh < 0 {
		errs.Add("key_refresh", "must not be negative")
	}
	return errs.Err()
}

// withDefaults fills in the unset settings.
func (c Config) withDefaults() Config {
	if c.ServiceURL == "" {
		c.ServiceURL = DefaultServiceURL
	}
	if c.TokenURL == "" {
		tenant := c.TenantID
		if tenant == "" {
			tenant = "botframework.com"
		}
		c.TokenURL = "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token"
	}
	if c.Scope == "" {
		c.Scope = DefaultScope
	}
	if c.OpenIDMetadataURL == "" {
		c.OpenIDMetadataURL = DefaultOpenIDMetadataURL
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.ChannelID == "" {
		c.ChannelID = "msteams"
	}
	if c.MaxPostLen == 0 {
		c.MaxPostLen = DefaultMaxPostLen
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.KeyRefresh == 0 {
		c.KeyRefresh = DefaultKeyRefresh
	}
	if c.ReplyWait == 0 {
		c.ReplyWait = DefaultReplyWait
	}
	return c
}
