package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultFile is the SQLite database file Open uses in the data directory
// when no URL is given.
const DefaultFile = "opsbot.db"

// pgConnectTimeout bounds each PostgreSQL connection attempt when the URL
// sets no connect_timeout.
const pgConnectTimeout = 15 * time.Second

// Open opens (creating if needed) the database dbURL names:
//
//   - "": SQLite at dataDir/opsbot.db, creating dataDir;
//   - "sqlite:PATH", "sqlite://PATH" or a plain file path: SQLite at PATH
//     (its directory must exist); "sqlite::memory:" is a private in-memory
//     database, gone when the store is closed;
//   - "postgres://…" or "postgresql://…": PostgreSQL, through a pgx pool
//     configured by the URL (see pgxpool.ParseConfig).
//
// Open checks that the database answers but doesn't migrate it: call Migrate.
// Errors start with "open database:" and never show the URL's password.
//
// A SQLite store uses a single connection (DB().Stats().MaxOpenConnections
// is 1), which is what the job queue's SQLite driver requires anyway: every
// statement runs in turn, so SQLITE_BUSY can't happen within the process and
// WAL still lets other processes read. Queries are short, so the queueing
// this implies costs little at a chat bot's rate.
func Open(ctx context.Context, dbURL, dataDir string) (*Store, error) {
	loc, err := parseLocation(dbURL, dataDir)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if loc.dialect == DialectPostgres {
		return openPostgres(ctx, loc.url)
	}
	return openSQLite(ctx, loc.path)
}

// location is where a database is.
type location struct {
	dialect string
	path    string // SQLite: absolute file path or memoryPath
	url     string // PostgreSQL
}

func parseLocation(dbURL, dataDir string) (location, error) {
	switch {
	case dbURL == "":
		if dataDir == "" {
			return location{}, errors.New("neither a database URL nor a data directory given")
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return location{}, fmt.Errorf("create data directory: %w", err)
		}
		return sqliteLocation(filepath.Join(dataDir, DefaultFile))
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return location{dialect: DialectPostgres, url: dbURL}, nil
	case strings.HasPrefix(dbURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "//")
		if path == "" {
			return location{}, fmt.Errorf("database URL %q has no path", dbURL)
		}
		return sqliteLocation(path)
	case strings.Contains(dbURL, "://"):
		scheme, _, _ := strings.Cut(dbURL, "://")
		return location{}, fmt.Errorf("unsupported database URL scheme %q (want postgres://, postgresql://, sqlite:PATH or a file path)", scheme)
	default:
		return sqliteLocation(dbURL)
	}
}

func sqliteLocation(path string) (location, error) {
	if path == memoryPath {
		return location{dialect: DialectSQLite, path: path}, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return location{}, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if _, err := os.Stat(filepath.Dir(abs)); err != nil {
		return location{}, fmt.Errorf("sqlite %s: %w", abs, err)
	}
	return location{dialect: DialectSQLite, path: abs}, nil
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if path != memoryPath {
		// Create the file readable by its owner only, as it holds password and
		// token hashes; SQLite gives its -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open database: sqlite %s: %w", path, err)
		}
		_ = f.Close()
	}
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open database: sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open database: sqlite %s: %w", path, err)
	}
	st := &Store{db: db, dialect: DialectSQLite, now: time.Now}
	if path != memoryPath {
		read, err := sql.Open("sqlite", sqliteDSN(path)+"&_pragma=query_only(1)")
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open database: sqlite %s: %w", path, err)
		}
		read.SetMaxOpenConns(sqliteReaders)
		st.read = read
	}
	return st, nil
}

// sqliteReaders is how many read-only connections a SQLite file store
// keeps beside its writer (ReadDB).
const sqliteReaders = 4

// DefaultPoolMaxConns is the PostgreSQL pool size unless the URL sets
// pool_max_conns.
const DefaultPoolMaxConns = 20

func openPostgres(ctx context.Context, dbURL string) (*Store, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", parseURLError(dbURL))
	}
	secrets := secretsOf(u)
	where := Redact(dbURL)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %s: %w", where, redactErr(err, secrets))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = pgConnectTimeout
	}
	// pgx's default pool (4 connections on 2 cores) is too small for a
	// server whose job runner, outbox, leases, web chat and message workers
	// all use the database at once: under load they queue behind each other.
	if !strings.Contains(u.RawQuery, "pool_max_conns") {
		cfg.MaxConns = DefaultPoolMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %s: %w", where, redactErr(err, secrets))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %s: %w", where, redactErr(err, secrets))
	}
	return &Store{db: stdlib.OpenDBFromPool(pool), pool: pool, dialect: DialectPostgres, now: time.Now}, nil
}
