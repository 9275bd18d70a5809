package hooks

import (
	"errors"
	"fmt"
)

// ErrUnauthorized is wrapped by Verify errors: answered 401.
var ErrUnauthorized = errors.New("unauthorized")

// ErrMalformed is wrapped by Parse errors for unreadable payloads: answered 400.
var ErrMalformed = errors.New("malformed payload")

// Unauthorized returns an error wrapping ErrUnauthorized; the message names
// what is wrong (never a secret or the presented value).
func Unauthorized(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthorized, fmt.Sprintf(format, args...))
}

// Malformed returns an error wrapping ErrMalformed naming the problem.
func Malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Missing is the error for a required field that is absent or empty.
func Missing(field string) error { return Malformed("missing required field %s", field) }

// Ignored is what Parse returns for a well-formed delivery that carries no
// event (an event type opsbot does not map, a ping): answered 202 with
// {"ignored": Reason} so that the vendor does not mark the hook failing.
type Ignored struct{ Reason string }

func (e *Ignored) Error() string { return "ignored: " + e.Reason }

// Ignore returns an *Ignored.
func Ignore(format string, args ...any) error {
	return &Ignored{Reason: fmt.Sprintf(format, args...)}
}
