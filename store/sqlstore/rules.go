package sqlstore

import (
	"context"
	"fmt"

	"github.com/opsbot/opsbot/store"
)

// AddRule stores a rule and returns it as stored: with its ID, Created set to
// now if it was zero, and empty Rooms and Args as nil.
func (s *Store) AddRule(ctx context.Context, r store.Rule) (store.Rule, error) {
	if r.Created.IsZero() {
		r.Created = s.now()
	}
	r.Created = roundTrip(r.Created)
	rooms, err := encodeList(r.Rooms)
	if err != nil {
		return store.Rule{}, fmt.Errorf("add rule: %w", err)
	}
	args, err := encodeMap(r.Args)
	if err != nil {
		return store.Rule{}, fmt.Errorf("add rule: %w", err)
	}
	err = s.db.QueryRowContext(ctx,
		`INSERT INTO rules (permission, subject, rooms, args, created) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		r.Permission, r.Subject, rooms, args, millis(r.Created)).Scan(&r.ID)
	if err != nil {
		return store.Rule{}, fmt.Errorf("add rule: %w", err)
	}
	if len(r.Rooms) == 0 {
		r.Rooms = nil
	}
	if len(r.Args) == 0 {
		r.Args = nil
	}
	return r, nil
}

// RemoveRules deletes every rule granting permission to subject and returns
// how many there were.
func (s *Store) RemoveRules(ctx context.Context, permission, subject string) (int, error) {
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM rules WHERE permission = $1 AND subject = $2`, permission, subject)
	if err != nil {
		return 0, fmt.Errorf("remove rules: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("remove rules: %w", err)
	}
	return int(n), nil
}

// ListRules lists all rules, oldest first.
func (s *Store) ListRules(ctx context.Context) ([]store.Rule, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, permission, subject, rooms, args, created FROM rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	defer rows.Close()
	rules := []store.Rule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		rules = append(rules, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	return rules, nil
}

func scanRule(sc scanner) (store.Rule, error) {
	var r store.Rule
	var rooms, args string
	var created int64
	if err := sc.Scan(&r.ID, &r.Permission, &r.Subject, &rooms, &args, &created); err != nil {
		return store.Rule{}, err
	}
	var err error
	if r.Rooms, err = decodeList(rooms); err != nil {
		return store.Rule{}, fmt.Errorf("rule %d rooms: %w", r.ID, err)
	}
	if r.Args, err = decodeMap[[]string](args); err != nil {
		return store.Rule{}, fmt.Errorf("rule %d args: %w", r.ID, err)
	}
	r.Created = fromMillis(created)
	return r, nil
}
