package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func (su suite) testBasics(t *testing.T) {
	s := su.store(t)
	require.Contains(t, []string{"sqlite", "postgres"}, s.Dialect())
	require.NotNil(t, s.DB())
	require.NoError(t, s.DB().PingContext(t.Context()))

	// Migrating again changes nothing and keeps the data.
	ctx := t.Context()
	_, err := s.CreateUser(ctx, "alice")
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}
