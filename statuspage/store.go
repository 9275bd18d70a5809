package statuspage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned for an incident that does not exist.
var ErrNotFound = errors.New("no such incident")

// Store keeps component states, their history, incidents and their
// timelines in the tables of migration 00070_status.sql (SQLite and
// PostgreSQL alike: $N placeholders, times as unix milliseconds).
type Store struct{ db *sql.DB }

// NewStore returns a store over db.
func NewStore(db *sql.DB) *Store { return &Store{db: db} }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// States returns the stored state of every component that has one.
func (s *Store) States(ctx context.Context) (map[string]Component, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, state, updated, updated_by FROM status_components`)
	if err != nil {
		return nil, fmt.Errorf("read component states: %w", err)
	}
	defer rows.Close()
	out := map[string]Component{}
	for rows.Next() {
		var c Component
		var st string
		var upd int64
		if err := rows.Scan(&c.Name, &st, &upd, &c.UpdatedBy); err != nil {
			return nil, fmt.Errorf("read component states: %w", err)
		}
		c.State, c.Updated = State(st), fromMS(upd)
		out[c.Name] = c
	}
	return out, rows.Err()
}

// SetState records a component's new state and the change in its history;
// it returns the previous state (Operational when it had none) and whether
// anything changed.
func (s *Store) SetState(ctx context.Context, name string, st State, by string, at time.Time) (State, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", false, fmt.Errorf("set %s: %w", name, err)
	}
	defer func() { _ = tx.Rollback() }()
	prev := Operational
	var p string
	switch err := tx.QueryRowContext(ctx, `SELECT state FROM status_components WHERE name = $1`, name).Scan(&p); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return "", false, fmt.Errorf("set %s: %w", name, err)
	default:
		prev = State(p)
	}
	if prev == st {
		return prev, false, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO status_components (name, state, updated, updated_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated = excluded.updated, updated_by = excluded.updated_by`,
		name, string(st), ms(at), by); err != nil {
		return "", false, fmt.Errorf("set %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO status_changes (component, from_state, to_state, by_user, at) VALUES ($1, $2, $3, $4, $5)`,
		name, string(prev), string(st), by, ms(at)); err != nil {
		return "", false, fmt.Errorf("set %s: history: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return "", false, fmt.Errorf("set %s: %w", name, err)
	}
	return prev, true, nil
}

// Changes returns the component changes since a time, newest first.
func (s *Store) Changes(ctx context.Context, since time.Time, limit int) ([]Change, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, component, from_state, to_state, by_user, at FROM status_changes
		WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2`, ms(since), limit)
	if err != nil {
		return nil, fmt.Errorf("read component history: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var from, to string
		var at int64
		if err := rows.Scan(&c.ID, &c.Component, &from, &to, &c.By, &at); err != nil {
			return nil, fmt.Errorf("read component history: %w", err)
		}
		c.From, c.To, c.Time = State(from), State(to), fromMS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Open creates an incident with its first update.
func (s *Store) Open(ctx context.Context, inc Incident, body, by string) (Incident, error) {
	comps, err := json.Marshal(inc.Components)
	if err != nil {
		return inc, err
	}
	if inc.Components == nil {
		comps = []byte("[]")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return inc, fmt.Errorf("open incident: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.QueryRowContext(ctx, `INSERT INTO status_incidents (name, status, impact, components, created, updated, resolved, remote_id)
		VALUES ($1, $2, $3, $4, $5, $5, $6, '') RETURNING id`,
		inc.Name, string(inc.Status), string(inc.Impact), string(comps), ms(inc.Created), ms(inc.Resolved)).Scan(&inc.ID); err != nil {
		return inc, fmt.Errorf("open incident: %w", err)
	}
	u, err := addUpdate(ctx, tx, inc.ID, inc.Status, body, by, inc.Created)
	if err != nil {
		return inc, err
	}
	if err := tx.Commit(); err != nil {
		return inc, fmt.Errorf("open incident: %w", err)
	}
	inc.Updated = inc.Created
	inc.Updates = []Update{u}
	return inc, nil
}

func addUpdate(ctx context.Context, tx *sql.Tx, id int64, st Status, body, by string, at time.Time) (Update, error) {
	u := Update{Status: st, Body: body, By: by, Time: at}
	if err := tx.QueryRowContext(ctx, `INSERT INTO status_updates (incident_id, status, body, by_user, at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		id, string(st), body, by, ms(at)).Scan(&u.ID); err != nil {
		return u, fmt.Errorf("incident %d: add update: %w", id, err)
	}
	return u, nil
}

// AddUpdate appends an update to an incident's timeline and sets its
// status (resolving it when st is Resolved).
func (s *Store) AddUpdate(ctx context.Context, id int64, st Status, body, by string, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("incident %d: %w", id, err)
	}
	defer func() { _ = tx.Rollback() }()
	resolved := int64(0)
	if st == Resolved {
		resolved = ms(at)
	}
	res, err := tx.ExecContext(ctx, `UPDATE status_incidents SET status = $1, updated = $2, resolved = $3 WHERE id = $4`,
		string(st), ms(at), resolved, id)
	if err != nil {
		return fmt.Errorf("incident %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if _, err := addUpdate(ctx, tx, id, st, body, by, at); err != nil {
		return err
	}
	return tx.Commit()
}

// SetRemoteID records the incident's ID on Atlassian Statuspage.
func (s *Store) SetRemoteID(ctx context.Context, id int64, remote string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE status_incidents SET remote_id = $1 WHERE id = $2`, remote, id)
	return err
}

// Filter selects incidents.
type Filter struct {
	OpenOnly bool
	Since    time.Time // created or updated at or after
	Limit    int       // default 50
	Before   int64     // ID below this (paging); 0: from the newest
}

// Incidents returns incidents, newest first, with their timelines.
func (s *Store) Incidents(ctx context.Context, f Filter) ([]Incident, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q := `SELECT id, name, status, impact, components, created, updated, resolved, remote_id FROM status_incidents WHERE updated >= $1`
	args := []any{ms(f.Since)}
	if f.OpenOnly {
		q += ` AND status <> 'resolved'`
	}
	if f.Before > 0 {
		args = append(args, f.Before)
		q += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read incidents: %w", err)
	}
	var out []Incident
	for rows.Next() {
		var inc Incident
		var st, impact, comps string
		var created, updated, resolved int64
		if err := rows.Scan(&inc.ID, &inc.Name, &st, &impact, &comps, &created, &updated, &resolved, &inc.RemoteID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read incidents: %w", err)
		}
		inc.Status, inc.Impact = Status(st), State(impact)
		inc.Created, inc.Updated, inc.Resolved = fromMS(created), fromMS(updated), fromMS(resolved)
		_ = json.Unmarshal([]byte(comps), &inc.Components)
		out = append(out, inc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read incidents: %w", err)
	}
	if err := s.fillUpdates(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// fillUpdates reads the timelines of incs in one query.
func (s *Store) fillUpdates(ctx context.Context, incs []Incident) error {
	if len(incs) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(incs))
	ph := make([]string, len(incs))
	args := make([]any, len(incs))
	for i, inc := range incs {
		idx[inc.ID] = i
		ph[i] = fmt.Sprintf("$%d", i+1)
		args[i] = inc.ID
	}
	rows, err := s.db.QueryContext(ctx, `SELECT incident_id, id, status, body, by_user, at FROM status_updates
		WHERE incident_id IN (`+strings.Join(ph, ", ")+`) ORDER BY at, id`, args...)
	if err != nil {
		return fmt.Errorf("read incident updates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u Update
		var inc int64
		var st string
		var at int64
		if err := rows.Scan(&inc, &u.ID, &st, &u.Body, &u.By, &at); err != nil {
			return fmt.Errorf("read incident updates: %w", err)
		}
		u.Status, u.Time = Status(st), fromMS(at)
		if i, ok := idx[inc]; ok {
			incs[i].Updates = append(incs[i].Updates, u)
		}
	}
	return rows.Err()
}

// Incident returns one incident with its timeline.
func (s *Store) Incident(ctx context.Context, id int64) (Incident, error) {
	incs, err := s.Incidents(ctx, Filter{Before: id + 1, Limit: 1})
	if err != nil {
		return Incident{}, err
	}
	if len(incs) == 0 || incs[0].ID != id {
		return Incident{}, ErrNotFound
	}
	return incs[0], nil
}

// LatestOpen returns the newest unresolved incident.
func (s *Store) LatestOpen(ctx context.Context) (Incident, error) {
	incs, err := s.Incidents(ctx, Filter{OpenOnly: true, Limit: 1})
	if err != nil {
		return Incident{}, err
	}
	if len(incs) == 0 {
		return Incident{}, ErrNotFound
	}
	return incs[0], nil
}
