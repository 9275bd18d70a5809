package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testUsers(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)

	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	users, err := s.ListUsers(ctx)
	require.NoError(t, err)
	require.Empty(t, users)

	before := time.Now()
	bob, err := s.CreateUser(ctx, "bob")
	require.NoError(t, err)
	requireNow(t, before, time.Now(), bob.Created)
	require.NotZero(t, bob.ID)
	require.Equal(t, "bob", bob.Name)
	require.Empty(t, bob.PasswordHash)

	_, err = s.CreateUser(ctx, "bob")
	require.ErrorIs(t, err, store.ErrExists)

	alice, err := s.CreateUser(ctx, "alice")
	require.NoError(t, err)
	require.NotEqual(t, bob.ID, alice.ID)
	bigBob, err := s.CreateUser(ctx, "Bob")
	require.NoError(t, err, "names are case-sensitive")

	got, err := s.UserByName(ctx, "bob")
	require.NoError(t, err)
	require.Equal(t, bob, got)
	got, err = s.UserByID(ctx, alice.ID)
	require.NoError(t, err)
	require.Equal(t, alice, got)

	_, err = s.UserByName(ctx, "carol")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserByID(ctx, alice.ID+bob.ID+bigBob.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	users, err = s.ListUsers(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.User{bigBob, alice, bob}, users, "by name")
	n, err = s.CountUsers(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)

	require.NoError(t, s.SetPasswordHash(ctx, alice.ID, "$argon2id$x"))
	got, err = s.UserByName(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, "$argon2id$x", got.PasswordHash)
	require.NoError(t, s.SetPasswordHash(ctx, alice.ID, ""))
	got, err = s.UserByName(ctx, "alice")
	require.NoError(t, err)
	require.Empty(t, got.PasswordHash)
	require.ErrorIs(t, s.SetPasswordHash(ctx, alice.ID+bob.ID+bigBob.ID, "x"), store.ErrNotFound)
}
