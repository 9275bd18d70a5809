package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/opsbot/opsbot/store"
)

// CreateLinkCode stores a one-time code linking an identity to userID until
// expires. store.ErrExists if the code is in use, store.ErrNotFound if the
// user doesn't exist.
func (s *Store) CreateLinkCode(ctx context.Context, userID int64, code string, expires time.Time) error {
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO link_codes (code, user_id, expires) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		code, userID, millis(expires))
	if err != nil {
		return s.childInsertErr(ctx, err, userID, "create link code")
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create link code: %w", err)
	} else if n == 0 {
		return fmt.Errorf("create link code: %w", store.ErrExists)
	}
	return nil
}

// ConsumeLinkCode deletes a code unexpired at now and returns its user; of
// concurrent callers only one gets it. store.ErrNotFound if the code is
// unknown, expired or already used. (Expired codes stay in the table; there
// are few.)
func (s *Store) ConsumeLinkCode(ctx context.Context, code string, now time.Time) (store.User, error) {
	var userID int64
	err := s.db.QueryRowContext(ctx,
		`DELETE FROM link_codes WHERE code = $1 AND expires > $2 RETURNING user_id`,
		code, millis(now)).Scan(&userID)
	if err != nil {
		return store.User{}, wrap(err, "consume link code")
	}
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return store.User{}, fmt.Errorf("consume link code: %w", err)
	}
	return u, nil
}
