package config

import (
	"time"

	"github.com/opsbot/opsbot/clock"
)

// Duration is a time.Duration that also reads and writes itself as text
// ("90s", "2d", "1w"), for config structs that are also marshalled to JSON or
// read from other formats. The loader decodes plain time.Duration fields the
// same way, with clock.ParseDuration, so either type can be used in config.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration ("1h30m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText accepts what clock.ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := clock.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
