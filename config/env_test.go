package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "a", "EMPTY": "", "B": "${A}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct{ in, want, err string }{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "a"},
		{in: "x${A}y${A}", want: "xaya"},
		{in: "${B}", want: "${A}"}, // values are not expanded again
		{in: "$$", want: "$"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$${A}", want: "$${A}"},
		{in: "$$${A}", want: "$a"},
		{in: "$5 and $", want: "$5 and $"},
		{in: "$A", want: "$A"},
		{in: "${EMPTY}", want: ""},
		{in: "${EMPTY:-d}", want: "d"},
		{in: "${EMPTY-d}", want: ""},
		{in: "${NOPE-d}", want: "d"},
		{in: "${NOPE:-}", want: ""},
		{in: "${NOPE:-${A}-${EMPTY:-e}}", want: "a-e"},
		{in: "${NOPE:-a}b}", want: "ab}"},
		{in: "${NOPE:-$${x}}", want: "${x}"},
		{in: "${A:?need A}", want: "a"},
		{in: "${NOPE}", err: "environment variable NOPE is not set"},
		{in: "${NOPE:-${NOPE2}}", err: "environment variable NOPE2 is not set"},
		{in: "${EMPTY:?say ${A}}", err: "environment variable EMPTY is empty: say a"},
		{in: "${NOPE?}", err: "environment variable NOPE is not set"},
		{in: "${", err: errBadRef.Error()},
		{in: "${A", err: errBadRef.Error()},
		{in: "${}", err: errBadRef.Error()},
		{in: "${9A}", err: errBadRef.Error()},
		{in: "${A B}", err: errBadRef.Error()},
		{in: "${A:+x}", err: errBadRef.Error()},
	} {
		got, err := expandEnv(tc.in, lookup)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, tc.in)
			continue
		}
		assert.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}
