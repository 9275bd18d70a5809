// Package sqlstore implements store.Store over database/sql, on SQLite (the
// embedded default, through the pure-Go modernc.org/sqlite driver) and on
// PostgreSQL (through pgx).
//
// One set of SQL serves both databases. The few places where they differ are
// kept in dialect.go and in the per-dialect migration directories. The
// conventions that make this work:
//
//   - Placeholders are written $1, $2, … everywhere: PostgreSQL's native form,
//     which the SQLite driver binds by number too.
//   - Times are unix milliseconds (UTC) in BIGINT columns, 0 meaning "not set":
//     they compare and sort the same on both, and come back as UTC time.Time
//     with millisecond precision. A zero time.Time is stored as 0 and read
//     back as a zero time.Time.
//   - Lists and maps are JSON text; empty ones read back as nil.
//   - Unique conflicts are detected with INSERT … ON CONFLICT DO NOTHING
//     (no rows written → store.ErrExists), never by parsing driver errors.
package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsbot/opsbot/store"
)

// Store is a store.Store on SQLite or PostgreSQL. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	read    *sql.DB       // SQLite file only: read-only connections beside the single writer
	pool    *pgxpool.Pool // PostgreSQL only
	dialect string
	now     func() time.Time
}

var _ store.Store = (*Store)(nil)

// Dialect is DialectSQLite or DialectPostgres.
func (s *Store) Dialect() string { return s.dialect }

// DB is the underlying database. On SQLite it has a single connection (see
// Open): never hold a transaction on it while running another statement
// outside that transaction, that would wait forever.
func (s *Store) DB() *sql.DB { return s.db }

// ReadDB is for reads that need not see the caller's own uncommitted
// writes (the event log's readers): on a SQLite file, a pool of read-only
// connections that WAL mode lets run beside the single writer, so a long
// read does not hold up writes; elsewhere DB itself.
func (s *Store) ReadDB() *sql.DB {
	if s.read != nil {
		return s.read
	}
	return s.db
}

// PgxPool is the pgx pool behind DB on PostgreSQL (the job queue needs it),
// nil on SQLite. DB draws its connections from this pool.
func (s *Store) PgxPool() *pgxpool.Pool { return s.pool }

// Close closes the database (and the pgx pool on PostgreSQL).
func (s *Store) Close() error {
	if s.read != nil {
		_ = s.read.Close()
	}
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// wrap annotates err with what was being done, turning sql.ErrNoRows into
// store.ErrNotFound.
func wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// notFound is the store.ErrNotFound error for a missing thing.
func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), store.ErrNotFound)
}
