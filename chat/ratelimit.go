package chat

// RateLimiter is an adapter that states its chat's rate limits. The outbox
// keeps to them, unless the configuration (outbox.limits) sets the
// adapter's; adapters that don't state them get the outbox's built-in
// limits for their name, or its default.
type RateLimiter interface {
	RateLimits() RateLimits
}

// RateLimits are token buckets: Rate posts per second, in bursts of up to
// Burst, per room and for the whole adapter. A Rate of 0 is no limit.
type RateLimits struct {
	RoomRate     float64
	RoomBurst    int
	AdapterRate  float64
	AdapterBurst int
}
