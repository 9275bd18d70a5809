package outbox

import "time"

// bucket is a token bucket on an injected clock: rate tokens per second, up
// to burst. take may leave it in debt (a split post costs one token per
// part), which later posts wait out. A rate of 0 is no limit. Not safe for
// concurrent use: the Outbox guards it.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	b := max(float64(burst), 1)
	return &bucket{rate: rate, burst: b, tokens: b, last: now}
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// wait is how long until one token is available.
func (b *bucket) wait(now time.Time) time.Duration {
	if b == nil || b.rate <= 0 {
		return 0
	}
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// take spends n tokens (a negative n gives them back, up to burst).
func (b *bucket) take(n int, now time.Time) {
	if b == nil || b.rate <= 0 {
		return
	}
	b.refill(now)
	b.tokens = min(b.burst, b.tokens-float64(n))
}
