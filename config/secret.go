package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
)

const redacted = "[redacted]"

// Secret is a config value that must never be logged: a token, a password, a
// webhook signing key. Every way of printing it (fmt with any verb, JSON,
// text, YAML, slog) gives "[redacted]", or "" when it is empty so that an
// unset secret is visible as unset. Reveal returns the value itself.
//
// fmt only calls these methods for exported fields: keep Secret fields
// exported in structs that might be printed. encoding/json writes string-kind
// map keys as they are: never use a Secret as a map key.
type Secret string

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, %d…) print the
// redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(s.String()))
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalJSON returns the redacted form as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText returns the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML returns the redacted form (for dumping the effective config).
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue makes slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
