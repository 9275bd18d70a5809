package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testKV(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)

	_, err := s.Get(ctx, "threads", "k", t0)
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.Put(ctx, "threads", "k", "v1", time.Time{}))
	require.NoError(t, s.Put(ctx, "choices", "k", "other namespace", t0.Add(time.Minute)))
	require.NoError(t, s.Put(ctx, "threads", "gone", "x", t0))

	tests := []struct {
		name, ns, key string
		now           time.Time
		want          string // "" for not found
	}{
		{"never expires", "threads", "k", t0.Add(100 * 365 * 24 * time.Hour), "v1"},
		{"namespaces are separate", "choices", "k", t0, "other namespace"},
		{"unexpired", "choices", "k", t0.Add(time.Minute - time.Millisecond), "other namespace"},
		{"expired", "choices", "k", t0.Add(time.Minute), ""},
		{"expired at once", "threads", "gone", t0, ""},
		{"missing", "threads", "nope", t0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Get(ctx, tt.ns, tt.key, tt.now)
			if tt.want == "" {
				require.ErrorIs(t, err, store.ErrNotFound)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	// Put replaces the value and the expiry; an expired key can be put again.
	require.NoError(t, s.Put(ctx, "threads", "k", "v2", t0.Add(time.Second)))
	got, err := s.Get(ctx, "threads", "k", t0)
	require.NoError(t, err)
	require.Equal(t, "v2", got)
	_, err = s.Get(ctx, "threads", "k", t0.Add(time.Second))
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.Put(ctx, "threads", "gone", "back", time.Time{}))
	got, err = s.Get(ctx, "threads", "gone", t0)
	require.NoError(t, err)
	require.Equal(t, "back", got)

	require.NoError(t, s.Delete(ctx, "threads", "gone"))
	_, err = s.Get(ctx, "threads", "gone", t0)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.Delete(ctx, "threads", "gone"), "deleting a missing key is fine")
	got, err = s.Get(ctx, "choices", "k", t0)
	require.NoError(t, err, "other keys stay")
	require.Equal(t, "other namespace", got)
}
