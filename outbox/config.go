package outbox

import (
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/config"
)

// Config is the `outbox:` section of the configuration.
type Config struct {
	// MaxAttempts is how many failed tries mark a post failed (default 8).
	// A chat's rate-limit refusal (429) is not a failed try.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the delay before the first retry (default 1s); each further
	// retry doubles it, up to MaxBackoff (default 5m), with jitter.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Retention is how long delivered posts are kept (default 24h); failed
	// posts are kept until requeued or deleted by hand.
	Retention time.Duration `yaml:"retention"`
	// Limits are the rate limits per adapter name. They take precedence over
	// those an adapter states (chat.RateLimiter) and the built-in ones
	// (DefaultLimits); "default" applies to adapters none of these name.
	Limits map[string]Limit `yaml:"limits"`
}

// Limit is a chat's rate limit: token buckets of Rate posts per second that
// hold up to Burst posts, one per room and one for the whole adapter. A Rate
// of 0 is no limit.
type Limit struct {
	RoomRate     float64 `yaml:"room_rate"`
	RoomBurst    int     `yaml:"room_burst"`
	AdapterRate  float64 `yaml:"adapter_rate"`
	AdapterBurst int     `yaml:"adapter_burst"`
}

// DefaultLimits are the built-in rate limits, from each chat's published
// limits where it has them:
//
//   - slack: 1 message per second per channel, short bursts allowed;
//   - discord: 5 messages per 5 seconds per channel, 50 requests per second per bot;
//   - telegram: 1 message per second per chat, 30 per second per bot;
//   - teams: about 1 message per second per conversation;
//   - irc: servers drop a client that floods; one line per 2 seconds after a
//     burst of 5 keeps under the usual penalty (per connection: the adapter);
//   - shell and web: local, no limit;
//   - default (any other adapter): 1 per second per room with bursts of 5,
//     10 per second per adapter.
func DefaultLimits() map[string]Limit {
	return map[string]Limit{
		"slack":    {RoomRate: 1, RoomBurst: 3, AdapterRate: 20, AdapterBurst: 40},
		"discord":  {RoomRate: 1, RoomBurst: 5, AdapterRate: 50, AdapterBurst: 50},
		"telegram": {RoomRate: 1, RoomBurst: 3, AdapterRate: 30, AdapterBurst: 30},
		"teams":    {RoomRate: 1, RoomBurst: 3, AdapterRate: 15, AdapterBurst: 30},
		"irc":      {AdapterRate: 0.5, AdapterBurst: 5},
		"xmpp":     {RoomRate: 2, RoomBurst: 5, AdapterRate: 10, AdapterBurst: 20},
		"shell":    {},
		"web":      {},
		"default":  {RoomRate: 1, RoomBurst: 5, AdapterRate: 10, AdapterBurst: 20},
	}
}

// withDefaults fills what c leaves unset.
func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	if c.Retention <= 0 {
		c.Retention = 24 * time.Hour
	}
	return c
}

// Validate checks the scalar keys (the config loader validates each Limit
// itself).
func (c Config) Validate() error {
	var errs config.FieldErrors
	if c.MaxAttempts < 0 {
		errs.Add("max_attempts", "must not be negative")
	}
	for key, d := range map[string]time.Duration{"backoff": c.Backoff, "max_backoff": c.MaxBackoff, "retention": c.Retention} {
		if d < 0 {
			errs.Add(key, "must not be negative")
		}
	}
	return errs.Err()
}

// Validate checks that no rate or burst is negative.
func (l Limit) Validate() error {
	var errs config.FieldErrors
	for key, v := range map[string]float64{"room_rate": l.RoomRate, "room_burst": float64(l.RoomBurst),
		"adapter_rate": l.AdapterRate, "adapter_burst": float64(l.AdapterBurst)} {
		if v < 0 {
			errs.Add(key, "must not be negative")
		}
	}
	return errs.Err()
}

// limitFor is the limit of an adapter: the configured one, else the one
// the adapter states (declared: a chat.RateLimiter's), else the built-in
// one for its name, else the configured or built-in default.
func (c Config) limitFor(adapter string, declared *chat.RateLimits) Limit {
	if l, ok := c.Limits[adapter]; ok {
		return l
	}
	if declared != nil {
		return Limit{RoomRate: declared.RoomRate, RoomBurst: declared.RoomBurst,
			AdapterRate: declared.AdapterRate, AdapterBurst: declared.AdapterBurst}
	}
	defaults := DefaultLimits()
	if l, ok := defaults[adapter]; ok {
		return l
	}
	if l, ok := c.Limits["default"]; ok {
		return l
	}
	return defaults["default"]
}
