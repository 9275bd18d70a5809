package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/opsbot/opsbot/store"
)

const confirmationColumns = "code, user_key, room, command, text, payload, audit_id, created, expires, resolved"

func scanConfirmation(sc scanner) (store.Confirmation, error) {
	var c store.Confirmation
	var created, expires int64
	err := sc.Scan(&c.Code, &c.UserKey, &c.Room, &c.Command, &c.Text, &c.Payload, &c.AuditID,
		&created, &expires, &c.Resolved)
	if err != nil {
		return store.Confirmation{}, err
	}
	c.Created, c.Expires = fromMillis(created), fromMillis(expires)
	return c, nil
}

// CreateConfirmation stores a confirmation (Created defaults to now).
// store.ErrExists if the same user already has a pending one with this code.
func (s *Store) CreateConfirmation(ctx context.Context, c store.Confirmation) error {
	if c.Created.IsZero() {
		c.Created = s.now()
	}
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO confirmations (`+confirmationColumns+`)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		c.Code, c.UserKey, c.Room, c.Command, c.Text, c.Payload, c.AuditID,
		millis(c.Created), millis(c.Expires), c.Resolved)
	if err != nil {
		return fmt.Errorf("create confirmation: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create confirmation: %w", err)
	} else if n == 0 {
		return fmt.Errorf("create confirmation: %w", store.ErrExists)
	}
	return nil
}

// TakeConfirmation marks the pending, unexpired confirmation code of userKey
// "confirmed" and returns it. It is a single conditional UPDATE, so of
// concurrent callers exactly one succeeds; the others, and callers with a
// wrong user, an expired or an unknown code, get store.ErrNotFound.
func (s *Store) TakeConfirmation(ctx context.Context, code, userKey string, now time.Time) (store.Confirmation, error) {
	c, err := scanConfirmation(s.db.QueryRowContext(ctx,
		`UPDATE confirmations SET resolved = 'confirmed'
		 WHERE code = $1 AND user_key = $2 AND resolved = '' AND expires > $3
		 RETURNING `+confirmationColumns,
		code, userKey, millis(now)))
	if err != nil {
		return store.Confirmation{}, wrap(err, "take confirmation %s of %s", code, userKey)
	}
	return c, nil
}

// ExpireConfirmations marks every pending confirmation expired at now
// "expired" and returns them, oldest first.
func (s *Store) ExpireConfirmations(ctx context.Context, now time.Time) ([]store.Confirmation, error) {
	rows, err := s.db.QueryContext(ctx,
		`UPDATE confirmations SET resolved = 'expired'
		 WHERE resolved = '' AND expires <= $1
		 RETURNING `+confirmationColumns, millis(now))
	if err != nil {
		return nil, fmt.Errorf("expire confirmations: %w", err)
	}
	defer rows.Close()
	expired := []store.Confirmation{}
	for rows.Next() {
		c, err := scanConfirmation(rows)
		if err != nil {
			return nil, fmt.Errorf("expire confirmations: %w", err)
		}
		expired = append(expired, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("expire confirmations: %w", err)
	}
	// RETURNING has no ORDER BY.
	slices.SortStableFunc(expired, func(a, b store.Confirmation) int { return a.Created.Compare(b.Created) })
	return expired, nil
}
