package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testRules(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)

	rules, err := s.ListRules(ctx)
	require.NoError(t, err)
	require.Empty(t, rules)

	narrow := store.Rule{
		Permission: "deploy",
		Subject:    "group:ops",
		Rooms:      []string{"#ops", "C0123"},
		Args:       map[string][]string{"env": {"staging", "prod"}, "service": {"api"}},
		Created:    t0,
	}
	before := time.Now()
	added, err := s.AddRule(ctx, narrow)
	require.NoError(t, err)
	require.NotZero(t, added.ID)
	narrow.ID = added.ID
	require.Equal(t, narrow, added)

	// Empty lists read back as nil; a zero Created becomes now.
	broad, err := s.AddRule(ctx, store.Rule{Permission: "deploy", Subject: "user:alice", Rooms: []string{}, Args: map[string][]string{}})
	require.NoError(t, err)
	requireNow(t, before, time.Now(), broad.Created)
	require.Nil(t, broad.Rooms)
	require.Nil(t, broad.Args)
	other, err := s.AddRule(ctx, store.Rule{Permission: "restart", Subject: "group:ops", Created: t0})
	require.NoError(t, err)
	again, err := s.AddRule(ctx, store.Rule{Permission: "deploy", Subject: "group:ops", Created: t0})
	require.NoError(t, err)

	rules, err = s.ListRules(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.Rule{narrow, broad, other, again}, rules, "oldest first")

	n, err := s.RemoveRules(ctx, "deploy", "group:ops")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = s.RemoveRules(ctx, "deploy", "group:ops")
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = s.RemoveRules(ctx, "deploy", "group:dev")
	require.NoError(t, err)
	require.Zero(t, n)

	rules, err = s.ListRules(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.Rule{broad, other}, rules)
}
