package chat

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateLimitError(t *testing.T) {
	cause := errors.New("ratelimited")
	for _, tc := range []struct {
		name    string
		err     error
		after   time.Duration
		limited bool
		text    string
	}{
		{"wrapped with retry-after", fmt.Errorf("chat: post to slack:#ops: %w", &RateLimitError{RetryAfter: 30 * time.Second, Err: cause}),
			30 * time.Second, true, "chat: post to slack:#ops: rate limited by the chat (retry after 30s): ratelimited"},
		{"no retry-after", &RateLimitError{}, 0, true, "rate limited by the chat"},
		{"another error", errors.New("boom"), 0, false, "boom"},
		{"nil", nil, 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := RetryAfter(tc.err)
			require.Equal(t, tc.limited, ok)
			require.Equal(t, tc.after, d)
			if tc.err != nil {
				require.Equal(t, tc.text, tc.err.Error())
			}
		})
	}
	require.ErrorIs(t, &RateLimitError{Err: cause}, cause, "the chat's own error is wrapped")
}
