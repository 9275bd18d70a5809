package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testLinkCodes(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)
	alice, err := s.CreateUser(ctx, "alice")
	require.NoError(t, err)
	expires := t0.Add(10 * time.Minute)

	require.NoError(t, s.CreateLinkCode(ctx, alice.ID, "111111", expires))
	require.ErrorIs(t, s.CreateLinkCode(ctx, alice.ID, "111111", expires), store.ErrExists)
	require.ErrorIs(t, s.CreateLinkCode(ctx, alice.ID+1, "222222", expires), store.ErrNotFound)
	require.NoError(t, s.CreateLinkCode(ctx, alice.ID, "333333", expires))
	require.NoError(t, s.CreateLinkCode(ctx, alice.ID, "444444", expires))

	tests := []struct {
		name string
		code string
		now  time.Time
		ok   bool
	}{
		{"unknown", "999999", t0, false},
		{"never linked", "222222", t0, false},
		{"expired", "333333", expires, false},
		{"valid", "111111", t0, true},
		{"used", "111111", t0, false},
		{"just before expiry", "444444", expires.Add(-time.Millisecond), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.ConsumeLinkCode(ctx, tt.code, tt.now)
			if !tt.ok {
				require.ErrorIs(t, err, store.ErrNotFound)
				return
			}
			require.NoError(t, err)
			require.Equal(t, alice, u)
		})
	}

	t.Run("one winner", func(t *testing.T) {
		require.NoError(t, s.CreateLinkCode(ctx, alice.ID, "555555", expires))
		won := concurrently(t, 10, func() error {
			_, err := s.ConsumeLinkCode(ctx, "555555", t0)
			return err
		})
		require.Equal(t, 1, won)
	})
}
