package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testConfirmations(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)
	expires := t0.Add(time.Minute)
	pending := func(code, userKey string) store.Confirmation {
		return store.Confirmation{
			Code: code, UserKey: userKey, Room: "shell:ops", Command: "deploy",
			Text: "deploy api prod", Payload: `{"k":1}`, AuditID: 7, Created: t0, Expires: expires,
		}
	}
	for _, c := range []store.Confirmation{
		pending("1111", "shell:alice"),
		pending("1111", "shell:bob"), // the same code for another user
		pending("2222", "shell:alice"),
		pending("3333", "shell:alice"),
	} {
		require.NoError(t, s.CreateConfirmation(ctx, c))
	}
	require.ErrorIs(t, s.CreateConfirmation(ctx, pending("1111", "shell:alice")), store.ErrExists)

	tests := []struct {
		name    string
		code    string
		userKey string
		now     time.Time
		ok      bool
	}{
		{"wrong user", "2222", "shell:bob", t0, false},
		{"unknown code", "9999", "shell:alice", t0, false},
		{"expired", "2222", "shell:alice", expires, false},
		{"valid", "1111", "shell:alice", t0, true},
		{"taken", "1111", "shell:alice", t0, false},
		{"another user's same code", "1111", "shell:bob", t0, true},
		{"just before expiry", "2222", "shell:alice", expires.Add(-time.Millisecond), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.TakeConfirmation(ctx, tt.code, tt.userKey, tt.now)
			if !tt.ok {
				require.ErrorIs(t, err, store.ErrNotFound)
				return
			}
			require.NoError(t, err)
			want := pending(tt.code, tt.userKey)
			want.Resolved = "confirmed"
			require.Equal(t, want, c)
		})
	}

	// A resolved code can be used again.
	require.NoError(t, s.CreateConfirmation(ctx, pending("1111", "shell:alice")))

	t.Run("expire", func(t *testing.T) {
		s := su.store(t)
		early := store.Confirmation{Code: "1", UserKey: "u", Created: t0, Expires: t0.Add(time.Second)}
		late := store.Confirmation{Code: "2", UserKey: "u", Created: t0.Add(time.Millisecond), Expires: t0.Add(time.Hour)}
		exact := store.Confirmation{Code: "3", UserKey: "u", Created: t0.Add(2 * time.Millisecond), Expires: t0.Add(time.Minute)}
		taken := store.Confirmation{Code: "4", UserKey: "u", Created: t0.Add(3 * time.Millisecond), Expires: t0.Add(time.Second)}
		before := time.Now()
		defaulted := store.Confirmation{Code: "5", UserKey: "u", Expires: t0.Add(time.Second)}
		for _, c := range []store.Confirmation{exact, late, early, taken, defaulted} {
			require.NoError(t, s.CreateConfirmation(ctx, c))
		}
		_, err := s.TakeConfirmation(ctx, "4", "u", t0)
		require.NoError(t, err)

		expired, err := s.ExpireConfirmations(ctx, t0.Add(time.Minute))
		require.NoError(t, err)
		require.Len(t, expired, 3)
		early.Resolved, exact.Resolved = "expired", "expired"
		// Oldest first: the defaulted one was created now, before t0.
		require.Equal(t, "5", expired[0].Code)
		requireNow(t, before, time.Now(), expired[0].Created)
		require.Equal(t, []store.Confirmation{early, exact}, expired[1:])

		expired, err = s.ExpireConfirmations(ctx, t0.Add(time.Minute))
		require.NoError(t, err)
		require.Empty(t, expired, "only pending ones expire")
		_, err = s.TakeConfirmation(ctx, "1", "u", t0)
		require.ErrorIs(t, err, store.ErrNotFound, "an expired confirmation can't be taken any more")
		_, err = s.TakeConfirmation(ctx, "2", "u", t0)
		require.NoError(t, err, "the late one is still pending")
	})

	t.Run("one winner", func(t *testing.T) {
		require.NoError(t, s.CreateConfirmation(ctx, pending("4242", "shell:carol")))
		won := concurrently(t, 10, func() error {
			_, err := s.TakeConfirmation(ctx, "4242", "shell:carol", t0)
			return err
		})
		require.Equal(t, 1, won)
	})
}
