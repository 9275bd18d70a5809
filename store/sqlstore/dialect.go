package sqlstore

import (
	"net/url"
	"strings"

	"github.com/pressly/goose/v3"
)

// The values of Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Everything that differs between SQLite and PostgreSQL lives here and in the
// per-dialect migration directories; the queries elsewhere are shared.

// sqlitePragmas are set on every SQLite connection:
//
//   - journal_mode=WAL: readers never block the writer nor the writer them,
//     and other processes (the opsbot CLI while the bot runs) can read.
//   - synchronous=NORMAL: in WAL mode a committed transaction survives a crash
//     of opsbot itself, and the database is never corrupted; only a power loss
//     or OS crash may roll back the last few commits (FULL would fsync the WAL
//     at every commit to keep those too).
//   - busy_timeout: wait up to 10 s for another process's lock instead of
//     failing at once with SQLITE_BUSY.
//   - foreign_keys: SQLite leaves them off by default.
//
// _txlock=immediate takes the write lock when a transaction begins, so two
// processes can't both read then fail to upgrade to writing (SQLITE_BUSY
// without waiting).
var sqlitePragmas = []string{
	"_pragma=busy_timeout(10000)",
	"_pragma=journal_mode(WAL)",
	"_pragma=synchronous(NORMAL)",
	"_pragma=foreign_keys(1)",
	"_txlock=immediate",
}

// sqliteDSN is the modernc.org/sqlite data source name of the database file at
// path (absolute, or ":memory:").
func sqliteDSN(path string) string {
	name := ":memory:"
	if path != memoryPath {
		// A file: URI, so that '?' and '%' in the path are escaped.
		name = (&url.URL{Path: path}).EscapedPath()
	}
	return "file:" + name + "?" + strings.Join(sqlitePragmas, "&")
}

// memoryPath is the SQLite path of a private in-memory database.
const memoryPath = ":memory:"

// gooseDialect is the goose dialect of a store dialect.
func gooseDialect(dialect string) goose.Dialect {
	if dialect == DialectPostgres {
		return goose.DialectPostgres
	}
	return goose.DialectSQLite3
}
