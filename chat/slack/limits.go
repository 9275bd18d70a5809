package slack

import (
	"context"
	"sync"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// Slack limits each Web API method by tier (docs: "Rate limits"): Tier 1
// allows about 1 call a minute, Tier 2 20, Tier 3 50, Tier 4 100, with
// short bursts. Posting has its own rule, about one message a second per
// channel, which the outbox keeps (RateLimits). The adapter paces the other
// methods it calls here, so that a burst of lookups or edits waits a little
// instead of drawing 429s; a 429 that comes all the same pauses the method
// for its Retry-After.
var methodTiers = map[string]tier{
	"apps.connections.open":        tier1,
	"conversations.list":           tier2,
	"conversations.info":           tier3,
	"chat.update":                  tier3,
	"reactions.add":                tier3,
	"users.info":                   tier4,
	"chat.postEphemeral":           tier4,
	"files.getUploadURLExternal":   tier4,
	"files.completeUploadExternal": tier4,
	"auth.test":                    tier4,
}

type tier struct {
	perMinute float64
	burst     float64
}

var (
	tier1 = tier{perMinute: 1, burst: 5}
	tier2 = tier{perMinute: 20, burst: 10}
	tier3 = tier{perMinute: 50, burst: 20}
	tier4 = tier{perMinute: 100, burst: 40}
)

// methodLimiter is a token bucket per Web API method.
type methodLimiter struct {
	clock clock.Clock

	mu      sync.Mutex
	buckets map[string]*methodBucket
}

type methodBucket struct {
	tier   tier
	tokens float64
	last   time.Time
	until  time.Time // paused by a 429 until then
}

func newMethodLimiter(c clock.Clock) *methodLimiter {
	return &methodLimiter{clock: c, buckets: map[string]*methodBucket{}}
}

// wait takes a token for method, waiting on the clock for one if needed.
func (l *methodLimiter) wait(ctx context.Context, method string) error {
	t, ok := methodTiers[method]
	if !ok {
		return nil
	}
	for {
		d := l.take(method, t)
		if d <= 0 {
			return nil
		}
		select {
		case <-l.clock.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take takes a token and returns 0, or returns how long to wait for one.
func (l *methodLimiter) take(method string, t tier) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	b, ok := l.buckets[method]
	if !ok {
		b = &methodBucket{tier: t, tokens: t.burst, last: now}
		l.buckets[method] = b
	}
	if now.Before(b.until) {
		return b.until.Sub(now)
	}
	rate := t.perMinute / 60 // tokens a second
	b.tokens = min(t.burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// pause holds method back for d (a 429's Retry-After).
func (l *methodLimiter) pause(method string, d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[method]
	if !ok {
		t, known := methodTiers[method]
		if !known {
			return
		}
		b = &methodBucket{tier: t, tokens: 0, last: l.clock.Now()}
		l.buckets[method] = b
	}
	if until := l.clock.Now().Add(d); until.After(b.until) {
		b.until = until
	}
}
