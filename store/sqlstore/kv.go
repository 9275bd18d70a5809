package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Put sets ns/key to value until expires (zero: forever), replacing any
// earlier value.
func (s *Store) Put(ctx context.Context, ns, key, value string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO kv (ns, key, value, expires) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
		ns, key, value, millis(expires))
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", ns, key, err)
	}
	return nil
}

// Get returns the value of ns/key unless it expired at now; store.ErrNotFound
// if it is missing or expired.
func (s *Store) Get(ctx context.Context, ns, key string, now time.Time) (string, error) {
	var value string
	err := s.db.QueryRowContext(ctx,
		`SELECT value FROM kv WHERE ns = $1 AND key = $2 AND (expires = 0 OR expires > $3)`,
		ns, key, millis(now)).Scan(&value)
	if err != nil {
		return "", wrap(err, "get %s/%s", ns, key)
	}
	return value, nil
}

// Delete removes ns/key; removing a missing key is not an error.
func (s *Store) Delete(ctx context.Context, ns, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM kv WHERE ns = $1 AND key = $2`, ns, key); err != nil {
		return fmt.Errorf("delete %s/%s: %w", ns, key, err)
	}
	return nil
}
