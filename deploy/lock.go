package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lock keeps an environment from being deployed: who, why, since when and,
// optionally, until when.
type Lock struct {
	App     string    `json:"app"`
	Env     string    `json:"environment"`
	User    string    `json:"user"`
	Reason  string    `json:"reason,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"` // zero: until unlocked
}

// Describe is "locked by alice 5m ago: db migration (until 14:00 UTC)".
func (l Lock) Describe(now time.Time) string {
	s := fmt.Sprintf("locked by %s %s ago", l.User, Ago(now.Sub(l.Created)))
	if l.Reason != "" {
		s += ": " + l.Reason
	}
	if !l.Expires.IsZero() {
		s += fmt.Sprintf(" (until %s, in %s)", l.Expires.UTC().Format("2006-01-02 15:04 MST"), Ago(l.Expires.Sub(now)))
	}
	return s
}

// Ago writes a duration the way chat messages do: "40s", "2 min", "3 h", "2 d".
func Ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d d", int(d.Hours()/24))
}

// Locks keeps environment locks (migration 00060).
type Locks struct{ db *sql.DB }

// NewLocks returns the locks kept in db.
func NewLocks(db *sql.DB) *Locks { return &Locks{db: db} }

// ErrLocked is wrapped by Lock's error when someone else holds the lock.
var ErrLocked = errors.New("already locked")

// Lock locks app in env. Locking an environment one already holds updates
// the reason and expiry; someone else's live lock is an error wrapping
// ErrLocked (an expired one is replaced).
func (ls *Locks) Lock(ctx context.Context, l Lock, now time.Time) (Lock, error) {
	tx, err := ls.db.BeginTx(ctx, nil)
	if err != nil {
		return l, fmt.Errorf("lock: %w", err)
	}
	defer tx.Rollback()
	cur, err := get(ctx, tx, l.App, l.Env, now)
	if err == nil && cur.User != l.User {
		return cur, fmt.Errorf("%s in %s is %s: %w", l.App, l.Env, cur.Describe(now), ErrLocked)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return l, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM deploy_locks WHERE app = $1 AND env = $2`, l.App, l.Env); err != nil {
		return l, fmt.Errorf("lock: %w", err)
	}
	l.Created = now.UTC().Truncate(time.Millisecond)
	l.Expires = l.Expires.UTC().Truncate(time.Millisecond)
	if _, err := tx.ExecContext(ctx, `INSERT INTO deploy_locks (app, env, user_name, reason, created, expires) VALUES ($1, $2, $3, $4, $5, $6)`,
		l.App, l.Env, l.User, l.Reason, millis(l.Created), millis(l.Expires)); err != nil {
		if isUniqueViolation(err) {
			return l, fmt.Errorf("%s in %s: %w", l.App, l.Env, ErrLocked)
		}
		return l, fmt.Errorf("lock: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return l, fmt.Errorf("lock: %w", err)
	}
	if l.Expires.IsZero() {
		l.Expires = time.Time{}
	}
	return l, nil
}

// Unlock removes the lock of app in env; it returns the lock removed
// (ErrNotFound when there was none).
func (ls *Locks) Unlock(ctx context.Context, app, env string, now time.Time) (Lock, error) {
	tx, err := ls.db.BeginTx(ctx, nil)
	if err != nil {
		return Lock{}, fmt.Errorf("unlock: %w", err)
	}
	defer tx.Rollback()
	cur, err := get(ctx, tx, app, env, now)
	if err != nil {
		return cur, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM deploy_locks WHERE app = $1 AND env = $2`, app, env); err != nil {
		return cur, fmt.Errorf("unlock: %w", err)
	}
	return cur, tx.Commit()
}

// Get returns the live lock of app in env (ErrNotFound when unlocked).
func (ls *Locks) Get(ctx context.Context, app, env string, now time.Time) (Lock, error) {
	tx, err := ls.db.BeginTx(ctx, nil)
	if err != nil {
		return Lock{}, fmt.Errorf("lock: %w", err)
	}
	defer tx.Rollback()
	return get(ctx, tx, app, env, now)
}

func get(ctx context.Context, tx *sql.Tx, app, env string, now time.Time) (Lock, error) {
	var l Lock
	var created, expires int64
	err := tx.QueryRowContext(ctx, `SELECT app, env, user_name, reason, created, expires FROM deploy_locks WHERE app = $1 AND env = $2`, app, env).
		Scan(&l.App, &l.Env, &l.User, &l.Reason, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("%s in %s is not locked: %w", app, env, ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("lock of %s in %s: %w", app, env, err)
	}
	l.Created, l.Expires = fromMillis(created), fromMillis(expires)
	if !l.Expires.IsZero() && !now.Before(l.Expires) {
		return Lock{}, fmt.Errorf("%s in %s is not locked (the lock expired): %w", app, env, ErrNotFound)
	}
	return l, nil
}

// List returns the live locks, by app and environment.
func (ls *Locks) List(ctx context.Context, now time.Time) ([]Lock, error) {
	rows, err := ls.db.QueryContext(ctx, `SELECT app, env, user_name, reason, created, expires FROM deploy_locks
		WHERE expires = 0 OR expires > $1 ORDER BY app, env`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	defer rows.Close()
	var out []Lock
	for rows.Next() {
		var l Lock
		var created, expires int64
		if err := rows.Scan(&l.App, &l.Env, &l.User, &l.Reason, &created, &expires); err != nil {
			return nil, fmt.Errorf("list locks: %w", err)
		}
		l.Created, l.Expires = fromMillis(created), fromMillis(expires)
		out = append(out, l)
	}
	return out, rows.Err()
}

// AutoDeploy keeps which environments chat switched auto-deploy on or off for.
type AutoDeploy struct{ db *sql.DB }

// NewAutoDeploy returns the settings kept in db.
func NewAutoDeploy(db *sql.DB) *AutoDeploy { return &AutoDeploy{db: db} }

// Set switches auto-deploy of app to env on or off.
func (a *AutoDeploy) Set(ctx context.Context, app, env string, enabled bool, user string, at time.Time) error {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("auto-deploy: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM deploy_auto WHERE app = $1 AND env = $2`, app, env); err != nil {
		return fmt.Errorf("auto-deploy: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO deploy_auto (app, env, enabled, user_name, updated) VALUES ($1, $2, $3, $4, $5)`,
		app, env, enabled, user, at.UnixMilli()); err != nil {
		return fmt.Errorf("auto-deploy: %w", err)
	}
	return tx.Commit()
}

// Setting is a chat override of auto-deploy.
type Setting struct {
	Enabled bool
	User    string
	Updated time.Time
}

// Overrides returns the chat overrides for app, by environment.
func (a *AutoDeploy) Overrides(ctx context.Context, app string) (map[string]Setting, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT env, enabled, user_name, updated FROM deploy_auto WHERE app = $1`, app)
	if err != nil {
		return nil, fmt.Errorf("auto-deploy: %w", err)
	}
	defer rows.Close()
	out := map[string]Setting{}
	for rows.Next() {
		var env string
		var s Setting
		var at int64
		if err := rows.Scan(&env, &s.Enabled, &s.User, &at); err != nil {
			return nil, fmt.Errorf("auto-deploy: %w", err)
		}
		s.Updated = fromMillis(at)
		out[env] = s
	}
	return out, rows.Err()
}
