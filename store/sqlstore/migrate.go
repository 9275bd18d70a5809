package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations holds one directory of goose SQL migrations per dialect,
// numbered 00001_core.sql, 00002_….sql; a module that needs tables adds a
// file with the next number to both directories.
//
//go:embed migrations
var migrations embed.FS

// Migrate brings the schema up to date. It is idempotent, and on PostgreSQL
// several processes may run it at once: an advisory lock serialises them.
func (s *Store) Migrate(ctx context.Context) error {
	dir, err := fs.Sub(migrations, "migrations/"+s.dialect)
	if err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.dialect == DialectPostgres {
		// Retry every second for up to 5 minutes while another process migrates.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrate database: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	// The provider is not closed: its Close would close s.db.
	p, err := goose.NewProvider(gooseDialect(s.dialect), s.db, dir, opts...)
	if err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}
