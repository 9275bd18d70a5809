// Package storetest is the behaviour every store.Store must have, as a test
// suite that each implementation runs on its databases.
package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

// Run tests the store.Store implementation open returns. Every call of open
// must return a new, empty store (Run migrates it) that is closed when t ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	s := suite{open: open}
	t.Run("Basics", s.testBasics)
	t.Run("Users", s.testUsers)
	t.Run("Identities", s.testIdentities)
	t.Run("Groups", s.testGroups)
	t.Run("LinkCodes", s.testLinkCodes)
	t.Run("Rules", s.testRules)
	t.Run("Confirmations", s.testConfirmations)
	t.Run("Audit", s.testAudit)
	t.Run("Tokens", s.testTokens)
	t.Run("Jobs", s.testJobs)
	t.Run("JobLogs", s.testJobLogs)
	t.Run("KV", s.testKV)
}

type suite struct {
	open func(t *testing.T) store.Store
}

// store opens a new, migrated store.
func (su suite) store(t *testing.T) store.Store {
	t.Helper()
	s := su.open(t)
	require.NoError(t, s.Migrate(t.Context()))
	return s
}

// t0 is a fixed time, on a millisecond as stored times are.
var t0 = time.Date(2030, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

// requireNow checks that got is a stored "now" taken between before and after.
func requireNow(t *testing.T, before, after, got time.Time) {
	t.Helper()
	require.Equal(t, time.UTC, got.Location(), "times come back in UTC")
	require.False(t, got.Before(before.Truncate(time.Millisecond)), "%v is before %v", got, before)
	require.False(t, got.After(after), "%v is after %v", got, after)
}

// concurrently runs f in n goroutines started at once and returns how many
// returned no error; every error must be store.ErrNotFound.
func concurrently(t *testing.T, n int, f func() error) int {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		go func() {
			<-start
			errs <- f()
		}()
	}
	close(start)
	won := 0
	for range n {
		err := <-errs
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	return won
}
