package chat

import (
	"errors"
	"fmt"
	"time"
)

// RateLimitError is what an adapter returns when the chat refused a post for
// its rate (HTTP 429 and the like). RetryAfter is how long the chat asked to
// wait (its Retry-After), or 0 when it didn't say. The outbox waits that long
// before trying the post again, and doesn't count the refusal as a failure.
// Adapters wrap it or return it as is; callers find it with errors.As.
type RateLimitError struct {
	RetryAfter time.Duration
	// Err is the chat's own error, if any.
	Err error
}

func (e *RateLimitError) Error() string {
	msg := "rate limited by the chat"
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// RetryAfter returns how long err (or an error it wraps) asks to wait, and
// whether it is a RateLimitError at all.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}
