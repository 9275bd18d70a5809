package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opsbot/opsbot/store"
)

const tokenColumns = "id, name, hash, scopes, created, last_used, revoked, user_name"

func scanToken(sc scanner) (store.Token, error) {
	var t store.Token
	var scopes string
	var created, lastUsed int64
	if err := sc.Scan(&t.ID, &t.Name, &t.Hash, &scopes, &created, &lastUsed, &t.Revoked, &t.User); err != nil {
		return store.Token{}, err
	}
	var err error
	if t.Scopes, err = decodeList(scopes); err != nil {
		return store.Token{}, fmt.Errorf("token %d scopes: %w", t.ID, err)
	}
	t.Created, t.LastUsed = fromMillis(created), fromMillis(lastUsed)
	return t, nil
}

// CreateToken stores a token and returns it as stored (with its ID, Created
// defaulting to now, empty Scopes as nil). store.ErrExists if the hash is
// known or an unrevoked token has the name.
func (s *Store) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	t.Created, t.LastUsed = roundTrip(t.Created), roundTrip(t.LastUsed)
	scopes, err := encodeList(t.Scopes)
	if err != nil {
		return store.Token{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	err = s.db.QueryRowContext(ctx,
		`INSERT INTO tokens (name, hash, scopes, created, last_used, revoked, user_name)
		 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
		t.Name, t.Hash, scopes, millis(t.Created), millis(t.LastUsed), t.Revoked, t.User).Scan(&t.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("create token %q: %w", t.Name, store.ErrExists)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	if len(t.Scopes) == 0 {
		t.Scopes = nil
	}
	return t, nil
}

// TokenByHash finds a token, revoked or not, by hash.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	if err != nil {
		return store.Token{}, wrap(err, "token by hash")
	}
	return t, nil
}

// ListTokens lists all tokens, revoked ones too, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	tokens := []store.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return tokens, nil
}

// RevokeToken revokes the unrevoked token called name; store.ErrNotFound if
// there is none.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE tokens SET revoked = TRUE WHERE name = $1 AND NOT revoked`, name)
	if err := affectedOne(res, err); err != nil {
		return wrap(err, "revoke token %q", name)
	}
	return nil
}

// TouchToken records that a token was used at at; store.ErrNotFound if there
// is no such token.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used = $1 WHERE id = $2`, millis(at), id)
	if err := affectedOne(res, err); err != nil {
		return wrap(err, "touch token %d", id)
	}
	return nil
}
