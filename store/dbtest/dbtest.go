// Package dbtest runs a test on a fresh, migrated store of each dialect:
// SQLite in a temporary directory and a real PostgreSQL (store/pgtest).
package dbtest

import (
	"path/filepath"
	"testing"

	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// ForEach runs f, in parallel subtests named "sqlite" and "postgres", on a
// fresh migrated store.
func ForEach(t *testing.T, f func(t *testing.T, st *sqlstore.Store)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url, dir := "", filepath.Join(t.TempDir(), "data")
			if name == "postgres" {
				url, dir = pgtest.Start(t), ""
			}
			st, err := sqlstore.Open(t.Context(), url, dir)
			if err != nil {
				t.Fatalf("open %s store: %v", name, err)
			}
			if err := st.Migrate(t.Context()); err != nil {
				t.Fatalf("migrate %s store: %v", name, err)
			}
			t.Cleanup(func() { _ = st.Close() })
			f(t, st)
		})
	}
}
