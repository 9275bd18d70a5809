package fleet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Store keeps the fleet's state in the tables of migration 00050_fleet
// (SQLite or PostgreSQL).
type Store struct{ db *sql.DB }

// NewStore returns a store over db.
func NewStore(db *sql.DB) *Store { return &Store{db: db} }

// Active is an app's active colour as opsbot last set it.
type Active struct {
	App       string    `json:"app"`
	Colour    string    `json:"colour"`
	Previous  string    `json:"previous,omitempty"`
	ChangedBy string    `json:"changed_by,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

// Active returns the recorded colour of app; ok is false when none is.
func (s *Store) Active(ctx context.Context, app string) (Active, bool, error) {
	a := Active{App: app}
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT colour, previous, changed_by, changed_at FROM fleet_active WHERE app = $1`, app).
		Scan(&a.Colour, &a.Previous, &a.ChangedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("read active colour of %s: %w", app, err)
	}
	a.ChangedAt = time.UnixMilli(at).UTC()
	return a, true, nil
}

// SetActive records that app's active colour is now colour, and was previous.
func (s *Store) SetActive(ctx context.Context, a Active) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO fleet_active (app, colour, previous, changed_by, changed_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (app) DO UPDATE SET colour = excluded.colour, previous = excluded.previous,
	changed_by = excluded.changed_by, changed_at = excluded.changed_at`,
		a.App, a.Colour, a.Previous, a.ChangedBy, a.ChangedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("record active colour of %s: %w", a.App, err)
	}
	return nil
}

// Announced is an instance's health as last announced.
type Announced struct {
	State     State     `json:"state"`
	Version   string    `json:"version,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

// Announcements returns every instance's announced health.
func (s *Store) Announcements(ctx context.Context) (map[string]Announced, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT instance, state, version, detail, changed_at FROM fleet_instances`)
	if err != nil {
		return nil, fmt.Errorf("read instance states: %w", err)
	}
	defer rows.Close()
	out := map[string]Announced{}
	for rows.Next() {
		var name, state string
		var a Announced
		var at int64
		if err := rows.Scan(&name, &state, &a.Version, &a.Detail, &at); err != nil {
			return nil, fmt.Errorf("read instance states: %w", err)
		}
		a.State, a.ChangedAt = State(state), time.UnixMilli(at).UTC()
		out[name] = a
	}
	return out, rows.Err()
}

// Transition moves an instance's announced state to `to` if it is one of
// from (a row that does not exist yet counts as Unknown). It reports whether
// this call moved it: only the caller that did announces the change.
func (s *Store) Transition(ctx context.Context, instance string, from []State, to State, detail string, at time.Time) (bool, error) {
	ms := at.UnixMilli()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO fleet_instances (instance, state, version, detail, checked_at, changed_at)
VALUES ($1, $2, '', '', $3, $3) ON CONFLICT (instance) DO NOTHING`, instance, string(Unknown), ms); err != nil {
		return false, fmt.Errorf("record %s: %w", instance, err)
	}
	args := []any{string(to), detail, ms, instance}
	ph := make([]string, len(from))
	for i, f := range from {
		args = append(args, string(f))
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	res, err := s.db.ExecContext(ctx, `UPDATE fleet_instances SET state = $1, detail = $2, changed_at = $3, checked_at = $3
WHERE instance = $4 AND state IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return false, fmt.Errorf("record %s %s: %w", instance, to, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetVersion moves an instance's announced version from old to new; it
// reports whether this call moved it.
func (s *Store) SetVersion(ctx context.Context, instance, old, new string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE fleet_instances SET version = $1, checked_at = $2 WHERE instance = $3 AND version = $4`,
		new, at.UnixMilli(), instance, old)
	if err != nil {
		return false, fmt.Errorf("record version of %s: %w", instance, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
