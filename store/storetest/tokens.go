package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testTokens(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)

	ci := store.Token{Name: "ci", Hash: "h1", Scopes: []string{"run:deploy", "read"}, Created: t0, User: "deploybot"}
	got, err := s.CreateToken(ctx, ci)
	require.NoError(t, err)
	require.NotZero(t, got.ID)
	ci.ID = got.ID
	require.Equal(t, ci, got)

	before := time.Now()
	bare, err := s.CreateToken(ctx, store.Token{Name: "bare", Hash: "h2", Scopes: []string{}})
	require.NoError(t, err)
	requireNow(t, before, time.Now(), bare.Created)
	require.Nil(t, bare.Scopes)
	require.Zero(t, bare.LastUsed)

	_, err = s.CreateToken(ctx, store.Token{Name: "other", Hash: "h1"})
	require.ErrorIs(t, err, store.ErrExists, "same hash")
	_, err = s.CreateToken(ctx, store.Token{Name: "ci", Hash: "h3"})
	require.ErrorIs(t, err, store.ErrExists, "same name as an active token")

	byHash, err := s.TokenByHash(ctx, "h1")
	require.NoError(t, err)
	require.Equal(t, ci, byHash)
	_, err = s.TokenByHash(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.TouchToken(ctx, ci.ID, t0.Add(time.Hour)))
	ci.LastUsed = t0.Add(time.Hour)
	require.ErrorIs(t, s.TouchToken(ctx, ci.ID+bare.ID, t0), store.ErrNotFound)

	require.NoError(t, s.RevokeToken(ctx, "ci"))
	require.ErrorIs(t, s.RevokeToken(ctx, "ci"), store.ErrNotFound, "already revoked")
	require.ErrorIs(t, s.RevokeToken(ctx, "nope"), store.ErrNotFound)
	ci.Revoked = true
	byHash, err = s.TokenByHash(ctx, "h1")
	require.NoError(t, err)
	require.Equal(t, ci, byHash, "revoked tokens are found too")

	// The name is free again once revoked.
	ci2, err := s.CreateToken(ctx, store.Token{Name: "ci", Hash: "h3", Created: t0})
	require.NoError(t, err)

	tokens, err := s.ListTokens(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.Token{ci, bare, ci2}, tokens)
}
