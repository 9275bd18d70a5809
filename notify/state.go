package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kinds of stored state.
const (
	kindGroup    = "group"    // an aggregation group of a route with group_by
	kindFP       = "fp"       // the last post of a fingerprint on a route without group_by
	kindThrottle = "throttle" // the throttle of a route without group_by
)

// group is the state of one aggregation group, or the dedup or throttle
// record of a route without grouping. It is the notification log: what was
// posted when, so repeat_interval, throttle and "resolved" survive restarts.
type group struct {
	Route      string            `json:"route"`
	Key        string            `json:"key"`
	Kind       string            `json:"kind"`
	Tag        string            `json:"tag,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Room       string            `json:"room,omitempty"` // the event's own room, overriding the route's
	Alerts     map[string]*alert `json:"alerts,omitempty"`
	Mentions   []string          `json:"mentions,omitempty"` // names from label mentions
	Created    time.Time         `json:"created"`
	NextFlush  time.Time         `json:"next_flush"`
	LastPost   time.Time         `json:"last_post,omitzero"`
	Firing     bool              `json:"firing,omitempty"`     // fp: the last post was firing
	Posted     bool              `json:"posted,omitempty"`     // group: something was posted
	Suppressed int               `json:"suppressed,omitempty"` // throttle: posts held back since the last
}

// alert is one firing or resolved event identity in a group.
type alert struct {
	Title    string `json:"t"`
	Severity string `json:"s,omitempty"`
	Firing   bool   `json:"f,omitempty"`
	Notified bool   `json:"n,omitempty"` // posted as firing
}

func (g *group) id() string { return g.Route + "\x00" + g.Key }

// db is the pipeline's storage: the consumer cursor, groups and actions.
type db struct {
	sql  *sql.DB
	name string // the consumer's name
}

// load reads the cursor (found is false when there is none yet) and the groups.
func (d db) load(ctx context.Context) (cursor int64, groups map[string]*group, found bool, err error) {
	err = d.sql.QueryRowContext(ctx, `SELECT seq FROM notify_cursor WHERE name = $1`, d.name).Scan(&cursor)
	switch {
	case err == nil:
		found = true
	case errors.Is(err, sql.ErrNoRows):
	default:
		return 0, nil, false, fmt.Errorf("load notify cursor: %w", err)
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT state FROM notify_groups`)
	if err != nil {
		return 0, nil, false, fmt.Errorf("load notify groups: %w", err)
	}
	defer rows.Close()
	groups = map[string]*group{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return 0, nil, false, fmt.Errorf("load notify groups: %w", err)
		}
		var g group
		if err := json.Unmarshal([]byte(s), &g); err != nil {
			return 0, nil, false, fmt.Errorf("load notify groups: %w", err)
		}
		groups[g.id()] = &g
	}
	return cursor, groups, found, rows.Err()
}

// commit writes the cursor, the changed groups and the claims of the
// actions about to start in one transaction.
func (d db) commit(ctx context.Context, cursor int64, changed map[string]*group, deleted map[string][2]string, claims []action, now time.Time) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("commit notify state: %w", err)
	}
	defer tx.Rollback()
	for _, g := range changed {
		b, err := json.Marshal(g)
		if err != nil {
			return fmt.Errorf("encode group: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_groups (route, group_key, state, next_flush, updated)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (route, group_key) DO UPDATE SET state = excluded.state, next_flush = excluded.next_flush, updated = excluded.updated`,
			g.Route, g.Key, string(b), g.NextFlush.UnixMilli(), now.UnixMilli()); err != nil {
			return fmt.Errorf("save group: %w", err)
		}
	}
	for _, k := range deleted {
		if _, err := tx.ExecContext(ctx, `DELETE FROM notify_groups WHERE route = $1 AND group_key = $2`, k[0], k[1]); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
	}
	for _, a := range claims {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_actions (route, event_seq, started) VALUES ($1, $2, $3)
			ON CONFLICT (route, event_seq) DO NOTHING`, a.route, a.seq, now.UnixMilli()); err != nil {
			return fmt.Errorf("claim action: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO notify_cursor (name, seq, updated) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated = excluded.updated`, d.name, cursor, now.UnixMilli()); err != nil {
		return fmt.Errorf("save notify cursor: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit notify state: %w", err)
	}
	return nil
}

// pruneActions forgets the claims of actions started before t.
func (d db) pruneActions(ctx context.Context, t time.Time) error {
	_, err := d.sql.ExecContext(ctx, `DELETE FROM notify_actions WHERE started < $1`, t.UnixMilli())
	return err
}
