package sqlstore

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every migration exists for both dialects, under the same name.
func TestMigrationsMatch(t *testing.T) {
	names := func(dialect string) []string {
		entries, err := fs.ReadDir(migrations, "migrations/"+dialect)
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	sqlite := names(DialectSQLite)
	require.NotEmpty(t, sqlite)
	require.Equal(t, sqlite, names(DialectPostgres))
}
