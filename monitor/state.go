package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// stateDB is the monitors' SQL over the store's database ($N placeholders
// on SQLite and PostgreSQL, unix ms times, 0 for none).
type stateDB struct{ *sql.DB }

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

func (d stateDB) load(ctx context.Context, name string) (State, error) {
	var st State
	var data string
	var until int64
	err := d.QueryRowContext(ctx, `SELECT data, silenced_until, silenced_by FROM monitor_state WHERE name = $1`, name).Scan(&data, &until, &st.SilencedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return State{Name: name}, nil
	}
	if err != nil {
		return st, fmt.Errorf("monitor %s: load state: %w", name, err)
	}
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		return st, fmt.Errorf("monitor %s: state: %w", name, err)
	}
	st.SilencedUntil = fromMS(until)
	return st, nil
}

func (d stateDB) loadAll(ctx context.Context) (map[string]State, error) {
	rows, err := d.QueryContext(ctx, `SELECT name, data, silenced_until, silenced_by FROM monitor_state`)
	if err != nil {
		return nil, fmt.Errorf("monitor states: %w", err)
	}
	defer rows.Close()
	out := map[string]State{}
	for rows.Next() {
		var st State
		var name, data string
		var until int64
		if err := rows.Scan(&name, &data, &until, &st.SilencedBy); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &st); err != nil {
			return nil, fmt.Errorf("monitor %s: state: %w", name, err)
		}
		st.SilencedUntil = fromMS(until)
		out[name] = st
	}
	return out, rows.Err()
}

func (d stateDB) save(ctx context.Context, st State, now time.Time) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = d.ExecContext(ctx, `INSERT INTO monitor_state (name, data, updated) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated = excluded.updated`, st.Name, string(data), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("monitor %s: save state: %w", st.Name, err)
	}
	return nil
}

func (d stateDB) silence(ctx context.Context, name string, until time.Time, by string, now time.Time) error {
	_, err := d.ExecContext(ctx, `INSERT INTO monitor_state (name, data, silenced_until, silenced_by, updated) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET silenced_until = excluded.silenced_until, silenced_by = excluded.silenced_by, updated = excluded.updated`,
		name, `{"name":"`+name+`"}`, ms(until), by, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("monitor %s: silence: %w", name, err)
	}
	return nil
}

// sourceState is whether a source answered, since when.
type sourceState struct {
	Reachable bool
	Since     time.Time
	Error     string
}

// setReachable records a source's reachability and reports whether it
// changed (true exactly once per change, whoever asks).
func (d stateDB) setReachable(ctx context.Context, name string, reachable bool, errText string, now time.Time) (changed bool, st sourceState, err error) {
	if _, err := d.ExecContext(ctx, `INSERT INTO monitor_sources (name, reachable, since) VALUES ($1, 1, $2) ON CONFLICT (name) DO NOTHING`,
		name, now.UnixMilli()); err != nil {
		return false, st, fmt.Errorf("source %s: %w", name, err)
	}
	want := 0
	if reachable {
		want = 1
	}
	res, err := d.ExecContext(ctx, `UPDATE monitor_sources SET reachable = $2, since = $3, error_text = $4 WHERE name = $1 AND reachable <> $2`,
		name, want, now.UnixMilli(), errText)
	if err != nil {
		return false, st, fmt.Errorf("source %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	var r int
	var since int64
	if err := d.QueryRowContext(ctx, `SELECT reachable, since, error_text FROM monitor_sources WHERE name = $1`, name).Scan(&r, &since, &st.Error); err != nil {
		return false, st, fmt.Errorf("source %s: %w", name, err)
	}
	st.Reachable, st.Since = r == 1, fromMS(since)
	return n == 1, st, nil
}

func (d stateDB) sources(ctx context.Context) (map[string]sourceState, error) {
	rows, err := d.QueryContext(ctx, `SELECT name, reachable, since, error_text FROM monitor_sources`)
	if err != nil {
		return nil, fmt.Errorf("monitor sources: %w", err)
	}
	defer rows.Close()
	out := map[string]sourceState{}
	for rows.Next() {
		var name string
		var r int
		var since int64
		var st sourceState
		if err := rows.Scan(&name, &r, &since, &st.Error); err != nil {
			return nil, err
		}
		st.Reachable, st.Since = r == 1, fromMS(since)
		out[name] = st
	}
	return out, rows.Err()
}
