package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testIdentities(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)
	alice, err := s.CreateUser(ctx, "alice")
	require.NoError(t, err)
	bob, err := s.CreateUser(ctx, "bob")
	require.NoError(t, err)

	_, err = s.UserByIdentity(ctx, "slack", "U1")
	require.ErrorIs(t, err, store.ErrNotFound, "a guest")

	slack := store.Identity{UserID: alice.ID, Adapter: "slack", ChatID: "U1", Name: "Alice A."}
	shell := store.Identity{UserID: alice.ID, Adapter: "shell", ChatID: "alice", Name: "alice"}
	require.NoError(t, s.LinkIdentity(ctx, slack))
	require.NoError(t, s.LinkIdentity(ctx, shell))
	require.NoError(t, s.LinkIdentity(ctx, store.Identity{UserID: bob.ID, Adapter: "slack", ChatID: "U2"}))

	got, err := s.UserByIdentity(ctx, "slack", "U1")
	require.NoError(t, err)
	require.Equal(t, alice, got)
	_, err = s.UserByIdentity(ctx, "matrix", "U1")
	require.ErrorIs(t, err, store.ErrNotFound, "the adapter is part of the identity")

	ids, err := s.IdentitiesOf(ctx, alice.ID)
	require.NoError(t, err)
	require.Equal(t, []store.Identity{shell, slack}, ids, "by adapter")

	// Linking again moves the identity and renames it.
	moved := store.Identity{UserID: bob.ID, Adapter: "slack", ChatID: "U1", Name: "Bob"}
	require.NoError(t, s.LinkIdentity(ctx, moved))
	got, err = s.UserByIdentity(ctx, "slack", "U1")
	require.NoError(t, err)
	require.Equal(t, bob, got)
	ids, err = s.IdentitiesOf(ctx, alice.ID)
	require.NoError(t, err)
	require.Equal(t, []store.Identity{shell}, ids)
	ids, err = s.IdentitiesOf(ctx, bob.ID)
	require.NoError(t, err)
	require.Equal(t, []store.Identity{moved, {UserID: bob.ID, Adapter: "slack", ChatID: "U2"}}, ids)

	ids, err = s.IdentitiesOf(ctx, alice.ID+bob.ID)
	require.NoError(t, err)
	require.Empty(t, ids)

	err = s.LinkIdentity(ctx, store.Identity{UserID: alice.ID + bob.ID, Adapter: "slack", ChatID: "U9"})
	require.ErrorIs(t, err, store.ErrNotFound, "unknown user")
	_, err = s.UserByIdentity(ctx, "slack", "U9")
	require.ErrorIs(t, err, store.ErrNotFound)
}
