package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/opsbot/opsbot/store"
)

const userColumns = "id, name, password_hash, created"

func scanUser(sc scanner) (store.User, error) {
	var u store.User
	var created int64
	if err := sc.Scan(&u.ID, &u.Name, &u.PasswordHash, &created); err != nil {
		return store.User{}, err
	}
	u.Created = fromMillis(created)
	return u, nil
}

// CreateUser adds a user without a password; store.ErrExists if the name is taken.
func (s *Store) CreateUser(ctx context.Context, name string) (store.User, error) {
	u := store.User{Name: name, Created: roundTrip(s.now())}
	err := s.db.QueryRowContext(ctx,
		`INSERT INTO users (name, password_hash, created) VALUES ($1, '', $2)
		 ON CONFLICT DO NOTHING RETURNING id`,
		name, millis(u.Created)).Scan(&u.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("create user %q: %w", name, store.ErrExists)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("create user %q: %w", name, err)
	}
	return u, nil
}

// UserByName finds a user by exact (case-sensitive) name.
func (s *Store) UserByName(ctx context.Context, name string) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if err != nil {
		return store.User{}, wrap(err, "user %q", name)
	}
	return u, nil
}

// UserByID finds a user by ID.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, wrap(err, "user %d", id)
	}
	return u, nil
}

// ListUsers lists all users by name.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	users, err := s.queryUsers(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// queryUsers runs a query selecting userColumns.
func (s *Store) queryUsers(ctx context.Context, query string, args ...any) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	users := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// SetPasswordHash sets (or, with "", clears) a user's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
	if err := affectedOne(res, err); err != nil {
		return wrap(err, "set password of user %d", userID)
	}
	return nil
}

// CountUsers counts the users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// userExists reports whether the user id exists.
func (s *Store) userExists(ctx context.Context, id int64) (bool, error) {
	return s.exists(ctx, `SELECT 1 FROM users WHERE id = $1`, id)
}

// exists reports whether query returns a row.
func (s *Store) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// affectedOne turns the result of a statement that must change one row (or
// more) into an error: the statement's own, or sql.ErrNoRows if it changed none.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}
