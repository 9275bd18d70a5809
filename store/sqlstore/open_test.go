package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

func TestOpenSQLiteLocations(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, url, dataDir, file string
	}{
		{"default in data dir, created", "", filepath.Join(dir, "data", "nested"), filepath.Join(dir, "data", "nested", "opsbot.db")},
		{"sqlite: prefix", "sqlite:" + filepath.Join(dir, "a.db"), "ignored", filepath.Join(dir, "a.db")},
		{"sqlite:// prefix", "sqlite://" + filepath.Join(dir, "b.db"), "", filepath.Join(dir, "b.db")},
		{"plain path", filepath.Join(dir, "c.db"), "", filepath.Join(dir, "c.db")},
		{"odd characters", filepath.Join(dir, "d ?x=1&y%20#z.db"), "", filepath.Join(dir, "d ?x=1&y%20#z.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, tt.url, tt.dataDir)
			require.Equal(t, sqlstore.DialectSQLite, s.Dialect())
			require.Nil(t, s.PgxPool())
			require.NoError(t, s.Migrate(t.Context()))
			require.FileExists(t, tt.file)
			fi, err := os.Stat(tt.file)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		})
	}
}

func TestOpenSQLiteSettings(t *testing.T) {
	s := open(t, "", t.TempDir())
	require.Equal(t, 1, s.DB().Stats().MaxOpenConnections)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "10000",
		"synchronous":  "1", // NORMAL
	} {
		var got string
		require.NoError(t, s.DB().QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got))
		require.Equal(t, want, got, pragma)
	}
}

func TestOpenSQLiteInMemory(t *testing.T) {
	s := open(t, "sqlite::memory:", "")
	require.NoError(t, s.Migrate(t.Context()))
	_, err := s.CreateUser(t.Context(), "alice")
	require.NoError(t, err)
	n, err := s.CountUsers(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// Two processes (here: two stores) writing the same SQLite file wait for each
// other instead of failing with SQLITE_BUSY.
func TestSQLiteSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := open(t, path, ""), open(t, path, "")
	require.NoError(t, a.Migrate(t.Context()))
	require.NoError(t, b.Migrate(t.Context()))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			_, err := s.CreateUser(t.Context(), fmt.Sprint("user", i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n, err := a.CountUsers(t.Context())
	require.NoError(t, err)
	require.Equal(t, 100, n)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	tests := []struct {
		name, url, dataDir string
		want               string
	}{
		{"nothing", "", "", "open database: neither a database URL nor a data directory given"},
		{"data dir is a file", "", file, "open database: create data directory: "},
		{"missing directory", filepath.Join(dir, "missing", "x.db"), "", "open database: sqlite " + filepath.Join(dir, "missing", "x.db") + ": "},
		{"empty sqlite path", "sqlite:", "", `open database: database URL "sqlite:" has no path`},
		{"unsupported scheme", "mysql://root:hunter22@db/opsbot", "", `open database: unsupported database URL scheme "mysql"`},
		{"not a database", file, "", "open database: sqlite " + file + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "not a database" {
				require.NoError(t, os.WriteFile(file, []byte("this is not a database, it is a text file of some length"), 0o600))
			}
			_, err := sqlstore.Open(t.Context(), tt.url, tt.dataDir)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "hunter22")
		})
	}
}

func TestOpenPostgresErrorsHidePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, url := range []string{
		// Nothing listens on port 1: the connection is refused.
		"postgres://opsbot:hunter22@127.0.0.1:1/opsbot?sslmode=disable",
		"postgresql://opsbot@127.0.0.1:1/opsbot?sslmode=disable&password=hunter22",
		"postgres://opsbot:hunter22@127.0.0.1:1/opsbot?sslmode=bogus",
		"postgres://opsbot:hunter22%zz@127.0.0.1:1/opsbot",
		"postgres://opsbot:hunter22@127.0.0.1:notaport/opsbot",
		"postgres://opsbot@127.0.0.1:1/opsbot?password=hunter22%zz",
		"postgres://opsbot:hunter%2022@127.0.0.1:1/opsbot?sslmode=disable",
		"postgres://opsbot:hunter22/x@127.0.0.1:1/opsbot",
		"postgres://opsbot:hunter22#x@127.0.0.1:1/opsbot",
		"postgres://opsbot@127.0.0.1:notaport/opsbot?password=hunter22",
		"postgres://opsbot@127.0.0.1:1/opsbot?password=hunter22&x=\x7f",
	} {
		_, err := sqlstore.Open(ctx, url, "")
		require.ErrorContains(t, err, "open database: ", url)
		require.NotContains(t, err.Error(), "hunter22", url)
		t.Log(err)
	}
}

func TestOpenPostgresErrorsUnwrap(t *testing.T) {
	_, err := sqlstore.Open(t.Context(), "postgres://opsbot:hunter22@127.0.0.1:1/opsbot?sslmode=disable", "")
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.NotContains(t, err.Error(), "hunter22")
}

func TestRedact(t *testing.T) {
	for url, want := range map[string]string{
		"postgres://u:hunter22@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=hunter22":             "postgres://u@h/db?password=xxxxx",
		"postgres://u@h/db?a=1&password=hunter22%zz&b=2":  "postgres://u@h/db?a=1&password=xxxxx&b=2",
		"postgres://h/db":                  "postgres://h/db",
		"postgres://u:hunter22%zz@h/db":    "postgres://(unparsable URL)",
		"sqlite:/var/lib/opsbot/opsbot.db": "sqlite:/var/lib/opsbot/opsbot.db",
		"/var/lib/opsbot/opsbot.db":        "/var/lib/opsbot/opsbot.db",
	} {
		require.Equal(t, want, sqlstore.Redact(url), url)
	}
}

func TestOpenPostgres(t *testing.T) {
	url := pgtest.Start(t)
	s := open(t, url, "")
	require.Equal(t, sqlstore.DialectPostgres, s.Dialect())
	require.NotNil(t, s.PgxPool())
	require.NoError(t, s.PgxPool().Ping(t.Context()))

	// Several processes may migrate at once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		other := open(t, url, "")
		wg.Go(func() { errs <- other.Migrate(t.Context()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, s.Migrate(t.Context()))
	_, err := s.CreateUser(t.Context(), "alice")
	require.NoError(t, err)
}
