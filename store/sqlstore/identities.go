package sqlstore

import (
	"context"
	"fmt"

	"github.com/opsbot/opsbot/store"
)

// LinkIdentity attaches a chat identity to id.UserID, moving it from the user
// it was linked to before, if any, and updating its display name.
// store.ErrNotFound if the user doesn't exist.
func (s *Store) LinkIdentity(ctx context.Context, id store.Identity) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO identities (adapter, chat_id, user_id, name) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (adapter, chat_id) DO UPDATE SET user_id = excluded.user_id, name = excluded.name`,
		id.Adapter, id.ChatID, id.UserID, id.Name)
	if err != nil {
		return s.childInsertErr(ctx, err, id.UserID, "link identity %s:%s", id.Adapter, id.ChatID)
	}
	return nil
}

// UserByIdentity finds the user an identity is linked to; store.ErrNotFound
// for a guest.
func (s *Store) UserByIdentity(ctx context.Context, adapter, chatID string) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT u.id, u.name, u.password_hash, u.created
		 FROM identities i JOIN users u ON u.id = i.user_id
		 WHERE i.adapter = $1 AND i.chat_id = $2`, adapter, chatID))
	if err != nil {
		return store.User{}, wrap(err, "user of identity %s:%s", adapter, chatID)
	}
	return u, nil
}

// IdentitiesOf lists the identities of a user by adapter and chat ID (none for
// an unknown user).
func (s *Store) IdentitiesOf(ctx context.Context, userID int64) ([]store.Identity, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT user_id, adapter, chat_id, name FROM identities
		 WHERE user_id = $1 ORDER BY adapter, chat_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("identities of user %d: %w", userID, err)
	}
	defer rows.Close()
	ids := []store.Identity{}
	for rows.Next() {
		var id store.Identity
		if err := rows.Scan(&id.UserID, &id.Adapter, &id.ChatID, &id.Name); err != nil {
			return nil, fmt.Errorf("identities of user %d: %w", userID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identities of user %d: %w", userID, err)
	}
	return ids, nil
}

// childInsertErr explains the failure of an insert into a table referencing
// users: store.ErrNotFound if the user doesn't exist (the foreign key
// refused it), else the insert's own error. Checking afterwards keeps the
// drivers' error codes out of the store.
func (s *Store) childInsertErr(ctx context.Context, err error, userID int64, format string, args ...any) error {
	if ok, exErr := s.userExists(ctx, userID); exErr == nil && !ok {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), notFound("user %d", userID))
	}
	return wrap(err, format, args...)
}
