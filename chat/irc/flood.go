package irc

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// Bucket is the flood control every line the bot sends passes through: a
// token bucket that holds up to burst tokens and gains rate tokens a second;
// each line takes one. Waiters are served in order.
type Bucket struct {
	clock clock.Clock
	rate  float64
	burst float64

	turn   chan struct{} // held by the one waiter being served
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket on clk.
func NewBucket(clk clock.Clock, rate float64, burst int) *Bucket {
	b := &Bucket{clock: clk, rate: rate, burst: float64(max(burst, 1)), turn: make(chan struct{}, 1)}
	b.tokens, b.last = b.burst, clk.Now()
	return b
}

// Wait takes a token, waiting on the bucket's clock until one is available,
// or returns ctx's error.
func (b *Bucket) Wait(ctx context.Context) error {
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.turn }()
	for {
		wait := b.take()
		if wait <= 0 {
			return nil
		}
		select {
		case <-b.clock.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// epsilon absorbs float rounding, so that waiting the time a token takes to
// come, rounded to the nanosecond, is enough.
const epsilon = 1e-6

// take takes a token and returns 0, or returns how long until one is due.
func (b *Bucket) take() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1-epsilon {
		b.tokens = max(b.tokens-1, 0)
		return 0
	}
	return max(time.Duration(math.Round((1-b.tokens)/b.rate*float64(time.Second))), time.Nanosecond)
}

// Fits returns how many lines could be sent within d from now, if no one
// else took tokens meanwhile.
func (b *Bucket) Fits(d time.Duration) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	tokens := b.tokens
	if elapsed := b.clock.Now().Sub(b.last); elapsed > 0 {
		tokens = min(b.burst, tokens+elapsed.Seconds()*b.rate)
	}
	return int(tokens + epsilon + max(d, 0).Seconds()*b.rate)
}
