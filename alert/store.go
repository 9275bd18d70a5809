package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
)

// ErrNotFound is returned for an alert that does not exist.
var ErrNotFound = errors.New("no such alert")

// Store keeps alerts and their history (tables of 00075_alerts.sql, SQLite
// and PostgreSQL alike).
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

const columns = `id, fingerprint, tag, source, title, body, severity, state, team, vendor, vendor_id, labels, links,
	opened, last_seen, acked, acked_by, closed, closed_by, step, thread_ref, paged`

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Alert, error) {
	var a Alert
	var sev, st, labels, links, paged string
	var opened, seen, acked, closed int64
	err := r.Scan(&a.ID, &a.Fingerprint, &a.Tag, &a.Source, &a.Title, &a.Text, &sev, &st, &a.Team, &a.Vendor, &a.VendorID,
		&labels, &links, &opened, &seen, &acked, &a.AckedBy, &closed, &a.ClosedBy, &a.Step, &a.Thread, &paged)
	if err != nil {
		return a, err
	}
	a.Severity, a.State = event.Severity(sev), State(st)
	a.Opened, a.LastSeen, a.Acked, a.Closed = fromMS(opened), fromMS(seen), fromMS(acked), fromMS(closed)
	_ = json.Unmarshal([]byte(labels), &a.Labels)
	_ = json.Unmarshal([]byte(links), &a.Links)
	if paged != "" {
		a.Paged = strings.Split(paged, ",")
	}
	return a, nil
}

func jsonText(v any, empty string) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return empty
	}
	return string(b)
}

// insert stores a new alert and returns it with its ID.
func insert(ctx context.Context, tx *sql.Tx, a Alert) (Alert, error) {
	err := tx.QueryRowContext(ctx, `INSERT INTO alerts (fingerprint, tag, source, title, body, severity, state, team, vendor, vendor_id,
		labels, links, opened, last_seen, acked, acked_by, closed, closed_by, step, thread_ref, paged)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, '', 0, '', '') RETURNING id`,
		a.Fingerprint, a.Tag, a.Source, a.Title, a.Text, string(a.Severity), string(a.State), a.Team, a.Vendor, a.VendorID,
		jsonText(a.Labels, "{}"), jsonText(a.Links, "[]"), ms(a.Opened), ms(a.LastSeen), ms(a.Acked), a.AckedBy).Scan(&a.ID)
	if err != nil {
		return a, fmt.Errorf("store alert: %w", err)
	}
	return a, nil
}

// openByFingerprint returns the alert with this fingerprint that is not closed.
func openByFingerprint(ctx context.Context, tx *sql.Tx, fp string) (Alert, error) {
	a, err := scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM alerts WHERE fingerprint = $1 AND state <> 'closed'`, fp))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// liveByFingerprint returns the alert with this fingerprint that is not closed.
func (s *Store) liveByFingerprint(ctx context.Context, fp string) (Alert, error) {
	a, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM alerts WHERE fingerprint = $1 AND state <> 'closed'`, fp))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// Get returns one alert.
func (s *Store) Get(ctx context.Context, id int64) (Alert, error) {
	a, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM alerts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("alert %d: %w", id, err)
	}
	return a, nil
}

// Filter selects alerts.
type Filter struct {
	States []State // none: every state
	Team   string
	Limit  int   // default 100
	Before int64 // ID below this (paging, newest first); 0 with OldestFirst
	// OldestFirst lists by age (chat's `alerts`); otherwise newest first.
	OldestFirst bool
}

// List returns alerts.
func (s *Store) List(ctx context.Context, f Filter) ([]Alert, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT ` + columns + ` FROM alerts WHERE 1 = 1`
	var args []any
	if len(f.States) > 0 {
		var ph []string
		for _, st := range f.States {
			args = append(args, string(st))
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		q += ` AND state IN (` + strings.Join(ph, ", ") + `)`
	}
	if f.Team != "" {
		args = append(args, f.Team)
		q += fmt.Sprintf(` AND team = $%d`, len(args))
	}
	if f.Before > 0 {
		args = append(args, f.Before)
		q += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	order := "id DESC"
	if f.OldestFirst {
		order = "opened, id"
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY %s LIMIT $%d`, order, len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Note appends an entry to an alert's history.
func (s *Store) Note(ctx context.Context, id int64, at time.Time, kind, text string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO alert_history (alert_id, at, kind, body) VALUES ($1, $2, $3, $4)`, id, ms(at), kind, text)
	if err != nil {
		return fmt.Errorf("alert %d: history: %w", id, err)
	}
	return nil
}

// Entry is one line of an alert's history.
type Entry struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	Text string    `json:"text"`
}

// History returns an alert's history, oldest first.
func (s *Store) History(ctx context.Context, id int64) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, kind, body FROM alert_history WHERE alert_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("alert %d: history: %w", id, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&at, &e.Kind, &e.Text); err != nil {
			return nil, err
		}
		e.Time = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetThread records the post an alert's updates go under.
func (s *Store) SetThread(ctx context.Context, id int64, ref string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alerts SET thread_ref = $1 WHERE id = $2`, ref, id)
	return err
}

// Ack acknowledges alerts that are open; it returns those it changed.
func (s *Store) Ack(ctx context.Context, ids []int64, by string, at time.Time) ([]Alert, error) {
	return s.transition(ctx, ids, Open, Acknowledged, by, at)
}

// Close closes alerts that are not closed; it returns those it changed.
func (s *Store) Close(ctx context.Context, ids []int64, by string, at time.Time) ([]Alert, error) {
	return s.transition(ctx, ids, "", Closed, by, at)
}

func (s *Store) transition(ctx context.Context, ids []int64, from, to State, by string, at time.Time) ([]Alert, error) {
	var out []Alert
	for _, id := range ids {
		var res sql.Result
		var err error
		switch to {
		case Acknowledged:
			res, err = s.db.ExecContext(ctx, `UPDATE alerts SET state = 'acknowledged', acked = $1, acked_by = $2 WHERE id = $3 AND state = $4`,
				ms(at), by, id, string(from))
		case Closed:
			res, err = s.db.ExecContext(ctx, `UPDATE alerts SET state = 'closed', closed = $1, closed_by = $2 WHERE id = $3 AND state <> 'closed'`,
				ms(at), by, id)
		}
		if err != nil {
			return out, fmt.Errorf("alert %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		a, err := s.Get(ctx, id)
		if err != nil {
			return out, err
		}
		verb := map[State]string{Acknowledged: "acknowledged", Closed: "closed"}[to]
		if err := s.Note(ctx, id, at, verb, verb+" by "+by); err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

// AdvanceStep records that escalation step `step` (1-based count) fired,
// if the alert is still open and at the step before; it reports whether
// this call advanced it (so two replicas never fire the same step).
func (s *Store) AdvanceStep(ctx context.Context, id int64, step int, paged []string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE alerts SET step = $1, paged = $2 WHERE id = $3 AND step = $4 AND state = 'open'`,
		step, strings.Join(paged, ","), id, step-1)
	if err != nil {
		return false, fmt.Errorf("alert %d: escalation: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
