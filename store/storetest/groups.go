package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testGroups(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)
	alice, err := s.CreateUser(ctx, "alice")
	require.NoError(t, err)
	bob, err := s.CreateUser(ctx, "bob")
	require.NoError(t, err)
	nobody := alice.ID + bob.ID

	for _, m := range []struct {
		user  int64
		group string
	}{{bob.ID, "ops"}, {alice.ID, "ops"}, {alice.ID, "dev"}, {alice.ID, "admins"}} {
		require.NoError(t, s.AddToGroup(ctx, m.user, m.group))
	}
	require.NoError(t, s.AddToGroup(ctx, alice.ID, "ops"), "already a member")
	require.ErrorIs(t, s.AddToGroup(ctx, nobody, "ops"), store.ErrNotFound)

	groups, err := s.GroupsOf(ctx, alice.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"admins", "dev", "ops"}, groups)
	groups, err = s.GroupsOf(ctx, nobody)
	require.NoError(t, err)
	require.Empty(t, groups)

	members, err := s.Members(ctx, "ops")
	require.NoError(t, err)
	require.Equal(t, []store.User{alice, bob}, members)
	members, err = s.Members(ctx, "nope")
	require.NoError(t, err)
	require.Empty(t, members)

	require.NoError(t, s.RemoveFromGroup(ctx, alice.ID, "ops"))
	require.ErrorIs(t, s.RemoveFromGroup(ctx, alice.ID, "ops"), store.ErrNotFound)
	require.ErrorIs(t, s.RemoveFromGroup(ctx, bob.ID, "dev"), store.ErrNotFound)
	members, err = s.Members(ctx, "ops")
	require.NoError(t, err)
	require.Equal(t, []store.User{bob}, members)
	groups, err = s.GroupsOf(ctx, alice.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"admins", "dev"}, groups)
}
