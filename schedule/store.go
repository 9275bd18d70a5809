package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Entry is one stored schedule.
type Entry struct {
	ID        string    `json:"id"`
	Owner     string    `json:"owner"` // "config", "chat", or the module that registered it
	When      string    `json:"when"`
	Timezone  string    `json:"timezone"`
	Anchor    time.Time `json:"anchor"` // when it was created (or its `when` last changed)
	Action    string    `json:"action"` // JSON the owner understands
	Note      string    `json:"note"`   // what it does, for people
	CreatedBy string    `json:"created_by"`
	Paused    bool      `json:"paused"`
	LastFire  time.Time `json:"last_fire"` // latest firing claimed or reported missed
	NextFire  time.Time `json:"next_fire"` // zero when it fires no more or is paused
	Missed    int64     `json:"missed"`    // firings reported missed, in total
}

// Location is the entry's time zone.
func (e Entry) Location() (*time.Location, error) {
	if e.Timezone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(e.Timezone)
}

// Spec parses the entry's when-expression.
func (e Entry) Spec() (Spec, error) {
	loc, err := e.Location()
	if err != nil {
		return nil, fmt.Errorf("schedule %s: timezone: %w", e.ID, err)
	}
	return Parse(e.When, loc, e.Anchor)
}

// ErrNotFound is returned for an unknown schedule ID.
var ErrNotFound = errors.New("no such schedule")

// db is the scheduler's SQL over the store's database (`$N` placeholders
// work on SQLite and PostgreSQL; times are unix ms, 0 for none).
type db struct{ *sql.DB }

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

const entryCols = `id, owner, when_text, timezone, anchor, action, note, created_by, paused, last_fire, next_fire, missed`

type scanner interface{ Scan(...any) error }

func scanEntry(r scanner) (Entry, error) {
	var e Entry
	var anchor, last, next int64
	var paused int
	if err := r.Scan(&e.ID, &e.Owner, &e.When, &e.Timezone, &anchor, &e.Action, &e.Note, &e.CreatedBy, &paused, &last, &next, &e.Missed); err != nil {
		return e, err
	}
	e.Anchor, e.LastFire, e.NextFire, e.Paused = fromMS(anchor), fromMS(last), fromMS(next), paused != 0
	return e, nil
}

func (d db) list(ctx context.Context) ([]Entry, error) {
	rows, err := d.QueryContext(ctx, `SELECT `+entryCols+` FROM schedules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (d db) get(ctx context.Context, id string) (Entry, error) {
	e, err := scanEntry(d.QueryRowContext(ctx, `SELECT `+entryCols+` FROM schedules WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return e, fmt.Errorf("schedule %s: %w", id, err)
	}
	return e, nil
}

// version is a cheap summary of the table: it changes whenever a row is
// added, removed or updated, so replicas reload only then.
func (d db) version(ctx context.Context) (string, error) {
	var n, maxUpdated sql.NullInt64
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*), MAX(updated) FROM schedules`).Scan(&n, &maxUpdated); err != nil {
		return "", fmt.Errorf("schedules version: %w", err)
	}
	return fmt.Sprintf("%d/%d", n.Int64, maxUpdated.Int64), nil
}

// put inserts or updates e. An update that keeps the when-expression and
// time zone keeps the anchor and last firing; one that changes them starts
// the schedule afresh from e.Anchor.
func (d db) put(ctx context.Context, e Entry, now time.Time) (Entry, error) {
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return e, fmt.Errorf("put schedule %s: %w", e.ID, err)
	}
	defer func() { _ = tx.Rollback() }()
	old, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+entryCols+` FROM schedules WHERE id = $1`, e.ID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `INSERT INTO schedules (`+entryCols+`, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			e.ID, e.Owner, e.When, e.Timezone, ms(e.Anchor), e.Action, e.Note, e.CreatedBy, boolInt(e.Paused), ms(e.LastFire), ms(e.NextFire), e.Missed, now.UnixMilli())
	case err != nil:
	default:
		if old.When == e.When && old.Timezone == e.Timezone {
			e.Anchor, e.LastFire = old.Anchor, old.LastFire
		}
		e.Paused, e.Missed = old.Paused, old.Missed
		_, err = tx.ExecContext(ctx, `UPDATE schedules SET owner = $2, when_text = $3, timezone = $4, anchor = $5, action = $6, note = $7,
			created_by = $8, last_fire = $9, next_fire = $10, updated = $11 WHERE id = $1`,
			e.ID, e.Owner, e.When, e.Timezone, ms(e.Anchor), e.Action, e.Note, e.CreatedBy, ms(e.LastFire), ms(e.NextFire), now.UnixMilli())
	}
	if err != nil {
		return e, fmt.Errorf("put schedule %s: %w", e.ID, err)
	}
	return e, tx.Commit()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d db) delete(ctx context.Context, id string) error {
	res, err := d.ExecContext(ctx, `DELETE FROM schedules WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete schedule %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return nil
}

// setPaused pauses or resumes; resuming moves last_fire to now, so the
// firings skipped while paused are neither run nor reported missed.
func (d db) setPaused(ctx context.Context, id string, paused bool, now time.Time) error {
	q := `UPDATE schedules SET paused = $2, next_fire = 0, updated = $3 WHERE id = $1`
	if !paused {
		q = `UPDATE schedules SET paused = $2, last_fire = CASE WHEN last_fire < $3 THEN $3 ELSE last_fire END, updated = $3 WHERE id = $1`
	}
	res, err := d.ExecContext(ctx, q, id, boolInt(paused), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("schedule %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return nil
}

// claim is one firing to claim.
type claim struct {
	id     string
	at     time.Time
	next   time.Time // the firing after it, for display
	status string    // "running", or "missed" for a firing reported missed
	missed int64     // firings reported missed before this one
}

// claimAll claims firings in one transaction and returns which were won.
// A claim is the insert of (schedule, fire time): on a conflict another
// process (or an earlier run of this one) has it.
func (d db) claimAll(ctx context.Context, cs []claim, now time.Time) ([]bool, error) {
	won := make([]bool, len(cs))
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return won, fmt.Errorf("claim firings: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for i, c := range cs {
		res, err := tx.ExecContext(ctx, `INSERT INTO schedule_firings (schedule_id, fire_at, claimed, status) VALUES ($1, $2, $3, $4)
			ON CONFLICT (schedule_id, fire_at) DO NOTHING`, c.id, ms(c.at), now.UnixMilli(), c.status)
		if err != nil {
			return won, fmt.Errorf("claim %s at %s: %w", c.id, c.at.Format(time.RFC3339), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return won, fmt.Errorf("claim %s: %w", c.id, err)
		}
		won[i] = n == 1
		if !won[i] {
			continue
		}
		// The updated column is left alone: other replicas learn nothing
		// new from a firing, and must not reload the table for it.
		if _, err := tx.ExecContext(ctx, `UPDATE schedules SET last_fire = $2, next_fire = $3, missed = missed + $4
			WHERE id = $1 AND last_fire < $2`, c.id, ms(c.at), ms(c.next), c.missed); err != nil {
			return won, fmt.Errorf("claim %s: %w", c.id, err)
		}
	}
	return won, tx.Commit()
}

// finish records how a claimed firing ended.
func (d db) finish(ctx context.Context, id string, at time.Time, runErr error) error {
	status, text := "ok", ""
	if runErr != nil {
		status, text = "failed", runErr.Error()
	}
	_, err := d.ExecContext(ctx, `UPDATE schedule_firings SET status = $3, error_text = $4 WHERE schedule_id = $1 AND fire_at = $2`,
		id, ms(at), status, text)
	if err != nil {
		return fmt.Errorf("finish %s: %w", id, err)
	}
	return nil
}

// Firing is one claimed firing, as recorded.
type Firing struct {
	Schedule string    `json:"schedule"`
	At       time.Time `json:"at"`
	Claimed  time.Time `json:"claimed"`
	Status   string    `json:"status"` // running, ok, failed, missed
	Error    string    `json:"error,omitempty"`
}

func (d db) firings(ctx context.Context, id string, limit int) ([]Firing, error) {
	rows, err := d.QueryContext(ctx, `SELECT schedule_id, fire_at, claimed, status, error_text FROM schedule_firings
		WHERE schedule_id = $1 ORDER BY fire_at DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("firings of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Firing
	for rows.Next() {
		var f Firing
		var at, claimed int64
		if err := rows.Scan(&f.Schedule, &at, &claimed, &f.Status, &f.Error); err != nil {
			return nil, err
		}
		f.At, f.Claimed = fromMS(at), fromMS(claimed)
		out = append(out, f)
	}
	return out, rows.Err()
}

// prune forgets firings claimed before cutoff, in batches of at most
// batch rows (short statements, so firings are not held up behind one
// long delete on SQLite's single connection).
func (d db) prune(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	res, err := d.ExecContext(ctx, `DELETE FROM schedule_firings WHERE (schedule_id, fire_at) IN
		(SELECT schedule_id, fire_at FROM schedule_firings WHERE claimed < $1 LIMIT $2)`, cutoff.UnixMilli(), batch)
	if err != nil {
		return 0, fmt.Errorf("prune firings: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
