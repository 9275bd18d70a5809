package slack

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// seenSet remembers keys (event IDs, messages, request signatures) for a
// while: first reports whether key is new, and records it until ttl passes.
type seenSet interface {
	first(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// sqlSeen keeps the keys in the slack_seen table (migration 00080), shared
// by every replica and kept across restarts. A key whose time ran out counts
// as new again; expired rows are purged now and then.
type sqlSeen struct {
	db    *sql.DB
	clock clock.Clock

	mu     sync.Mutex
	purged time.Time
}

// insertSeenSQL inserts key, or renews it when the earlier row has expired;
// it touches no row when the key is still live. Both dialects have this upsert.
const insertSeenSQL = `INSERT INTO slack_seen (id, expires) VALUES ($1, $2)
	ON CONFLICT (id) DO UPDATE SET expires = excluded.expires WHERE slack_seen.expires <= $3`

const purgeEvery = 10 * time.Minute

func (s *sqlSeen) first(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	now := s.clock.Now()
	res, err := s.db.ExecContext(ctx, insertSeenSQL, key, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("slack: record %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("slack: record %s: %w", key, err)
	}
	s.purge(ctx, now)
	return n > 0, nil
}

func (s *sqlSeen) purge(ctx context.Context, now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.purged) >= purgeEvery
	if due {
		s.purged = now
	}
	s.mu.Unlock()
	if due {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM slack_seen WHERE expires <= $1`, now.UnixMilli())
	}
}

// memSeen is the in-memory seenSet, for an adapter without a database.
type memSeen struct {
	clock clock.Clock
	mu    sync.Mutex
	keys  map[string]time.Time
}

func newMemSeen(c clock.Clock) *memSeen { return &memSeen{clock: c, keys: map[string]time.Time{}} }

func (m *memSeen) first(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.keys[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(m.keys) > 4096 {
		for k, exp := range m.keys {
			if !now.Before(exp) {
				delete(m.keys, k)
			}
		}
	}
	m.keys[key] = now.Add(ttl)
	return true, nil
}
