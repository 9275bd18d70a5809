// Package lease lets one replica at a time do what must be done once in a
// cluster: hold a single-connection chat (IRC, XMPP, a Discord gateway), run
// the notify pipeline. A lease is a row of the leases table (migration
// 00090) with a holder and an expiry; its holder renews it every TTL/3 and
// gives it up when it stops; when the holder dies, the row expires and
// another replica takes the lease within TTL plus its retry interval.
//
// The same SQL runs on SQLite and PostgreSQL (INSERT … ON CONFLICT … WHERE).
package lease

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// DefaultTTL is how long a lease lasts without renewal.
const DefaultTTL = 15 * time.Second

// Manager takes, renews and gives up leases for one replica.
type Manager struct {
	db     *sql.DB
	holder string
	clock  clock.Clock
	log    *slog.Logger
	ttl    time.Duration

	mu   sync.Mutex
	held map[string]bool
}

// Options configure a Manager.
type Options struct {
	// Holder names this replica (default: hostname-pid-random).
	Holder string
	TTL    time.Duration
	Clock  clock.Clock
	Logger *slog.Logger
}

// New returns a Manager over db, which has the leases table.
func New(db *sql.DB, o Options) *Manager {
	if o.Holder == "" {
		o.Holder = DefaultHolder()
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{db: db, holder: o.Holder, clock: o.Clock, log: o.Logger, ttl: o.TTL, held: map[string]bool{}}
}

// DefaultHolder names this process: host, pid and a random suffix (a
// restarted process on the same host is a new holder).
func DefaultHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Holder is this replica's name in the leases table.
func (m *Manager) Holder() string { return m.holder }

// TTL is the lease duration.
func (m *Manager) TTL() time.Duration { return m.ttl }

const acquireSQL = `INSERT INTO leases (name, holder, acquired, expires) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires,
  acquired = CASE WHEN leases.holder = excluded.holder THEN leases.acquired ELSE excluded.acquired END
WHERE leases.holder = excluded.holder OR leases.expires < excluded.acquired`

// TryAcquire takes the lease name, or renews it when this replica holds it.
// It reports whether this replica holds it now.
func (m *Manager) TryAcquire(ctx context.Context, name string) (bool, error) {
	now := m.clock.Now()
	res, err := m.db.ExecContext(ctx, acquireSQL, name, m.holder, now.UnixMilli(), now.Add(m.ttl).UnixMilli())
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return n == 1, nil
}

// Release gives the lease up if this replica holds it, so another may take
// it at once.
func (m *Manager) Release(ctx context.Context, name string) error {
	_, err := m.db.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, m.holder)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// Info is a lease as stored.
type Info struct {
	Name     string    `json:"name"`
	Holder   string    `json:"holder"`
	Acquired time.Time `json:"acquired"`
	Expires  time.Time `json:"expires"`
}

// List returns the stored leases.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT name, holder, acquired, expires FROM leases ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	defer rows.Close()
	var out []Info
	for rows.Next() {
		var i Info
		var acq, exp int64
		if err := rows.Scan(&i.Name, &i.Holder, &acq, &exp); err != nil {
			return nil, fmt.Errorf("list leases: %w", err)
		}
		i.Acquired, i.Expires = time.UnixMilli(acq), time.UnixMilli(exp)
		out = append(out, i)
	}
	return out, rows.Err()
}

// Held reports whether this replica holds name right now (while Hold runs
// its function).
func (m *Manager) Held(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held[name]
}

func (m *Manager) setHeld(name string, v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v {
		m.held[name] = true
	} else {
		delete(m.held, name)
	}
}

// ErrLost ends the context given to Hold's function when the lease could not
// be renewed in time.
var ErrLost = errors.New("lease lost")

// Hold runs fn while this replica holds the lease name, until ctx ends: it
// waits to take the lease (trying every TTL/3), runs fn with a context that
// ends when the lease is lost (not renewed before it expires), renews it
// meanwhile, and gives it up when fn returns. When fn returns while ctx
// lives (an error, or the lease lost), Hold waits one retry interval and
// competes for the lease again.
func (m *Manager) Hold(ctx context.Context, name string, fn func(ctx context.Context) error) {
	every := m.ttl / 3
	for ctx.Err() == nil {
		ok, err := m.TryAcquire(ctx, name)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("lease: cannot reach the database", "lease", name, "err", err)
		}
		if !ok {
			if !m.sleep(ctx, every) {
				return
			}
			continue
		}
		m.log.Info("lease taken", "lease", name, "holder", m.holder)
		m.run(ctx, name, fn, every)
		if ctx.Err() != nil {
			return
		}
		if !m.sleep(ctx, every) {
			return
		}
	}
}

// sleep waits d on the clock; false when ctx ended first.
func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-m.clock.After(d):
		return true
	}
}

// run runs fn under a held lease, renewing it, and gives it up at the end.
func (m *Manager) run(ctx context.Context, name string, fn func(ctx context.Context) error, every time.Duration) {
	hctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	m.setHeld(name, true)
	done := make(chan error, 1)
	go func() { done <- fn(hctx) }()
	renewed := m.clock.Now()
	for {
		tick := m.clock.After(every)
		select {
		case err := <-done:
			m.setHeld(name, false)
			if err != nil && ctx.Err() == nil && !errors.Is(context.Cause(hctx), ErrLost) {
				m.log.Error("lease holder's work stopped", "lease", name, "err", err)
			}
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := m.Release(rctx, name); err != nil {
				m.log.Warn("lease: give up", "lease", name, "err", err)
			}
			rcancel()
			return
		case <-tick:
			if hctx.Err() != nil {
				continue // lost: waiting for fn to return
			}
			ok, err := m.TryAcquire(ctx, name)
			switch {
			case ok:
				renewed = m.clock.Now()
			case err == nil:
				m.log.Error("lease taken by another replica", "lease", name)
				m.setHeld(name, false)
				cancel(ErrLost)
			case m.clock.Now().Sub(renewed) >= m.ttl-every/2:
				m.log.Error("lease lost: not renewed in time", "lease", name, "err", err)
				m.setHeld(name, false)
				cancel(ErrLost)
			default:
				m.log.Warn("lease: renewal failed, retrying", "lease", name, "err", err)
			}
		}
	}
}
