package outbox

import (
	"math/rand/v2"
	"time"
)

// backoff is the delay before retry n (1 for the first): base doubled n-1
// times, capped, then with "equal jitter": a random point in its upper half,
// so replicas that failed together don't retry together.
func backoff(n int, base, ceiling time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return d/2 + jitter(d-d/2)
}

// randomJitter is a random duration in [0, d].
func randomJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}
