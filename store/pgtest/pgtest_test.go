package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestStartGivesFreshDatabases(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) {
		first = Start(t)
		conn := connect(t, first)
		_, err := conn.Exec(context.Background(), "CREATE TABLE t (x int)")
		require.NoError(t, err)
	})
	t.Run("second", func(t *testing.T) {
		second := Start(t)
		require.NotEqual(t, first, second)
		conn := connect(t, second)
		var n int
		require.NoError(t, conn.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_tables WHERE tablename = 't'").Scan(&n))
		require.Zero(t, n, "a new database is empty")

		// The first test's database was dropped when it ended.
		var exists bool
		require.NoError(t, conn.QueryRow(context.Background(),
			"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", dbName(t, first)).Scan(&exists))
		require.False(t, exists)
	})
}

func TestDatabaseName(t *testing.T) {
	a, err := databaseName("TestX/Sub-Case #1 with a very long name that goes on and on")
	require.NoError(t, err)
	b, err := databaseName("TestX/Sub-Case #1 with a very long name that goes on and on")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.Regexp(t, `^t_[a-z0-9_]{40}_[0-9a-f]{12}$`, a)
	require.LessOrEqual(t, len(a), 63, "PostgreSQL truncates names to 63 bytes")
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func dbName(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	return cfg.Database
}

func TestFindBinaries(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"9", "15", "13"} {
		bin := filepath.Join(dir, v, "bin")
		require.NoError(t, os.MkdirAll(bin, 0o755))
		for _, prog := range []string{"initdb", "pg_ctl"} {
			require.NoError(t, os.WriteFile(filepath.Join(bin, prog), nil, 0o755))
		}
	}
	t.Setenv("PATH", "")
	defer func(old string) { debianBinaries = old }(debianBinaries)

	debianBinaries = filepath.Join(dir, "*", "bin")
	got, err := findBinaries()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "15", "bin"), got, "the newest version")

	debianBinaries = filepath.Join(t.TempDir(), "*", "bin")
	_, err = findBinaries()
	require.ErrorIs(t, err, errNotInstalled)
}

func TestUnavailable(t *testing.T) {
	for _, tt := range []struct {
		ci       string
		wantSkip bool
	}{{"", true}, {"false", true}, {"true", false}, {"1", false}} {
		t.Setenv("CI", tt.ci)
		f := &fakeTB{TB: t}
		unavailable(f, "no PostgreSQL")
		if tt.wantSkip {
			require.Contains(t, f.skipped, "no PostgreSQL", "CI=%q", tt.ci)
			require.Empty(t, f.failed)
		} else {
			require.Contains(t, f.failed, "no PostgreSQL", "CI=%q", tt.ci)
			require.Contains(t, f.failed, "$CI is true")
			require.Empty(t, f.skipped)
		}
	}
}

// fakeTB records Fatalf and Skipf instead of ending the test.
type fakeTB struct {
	testing.TB
	failed, skipped string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = fmt.Sprintf(format, args...) }
