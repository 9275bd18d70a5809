// Package inbound claims inbound chat messages once across replicas.
//
// With several opsbot replicas connected to one chat (Slack Socket Mode
// opens a connection per replica; every replica tails the web chat; a
// Mattermost or Matrix sync reaches every replica), the same message reaches
// more than one of them. Before handling it, a replica claims (adapter,
// message id) in the inbound_claims table (migration 00090); only the
// replica whose claim inserted the row handles it.
//
// While a replica handles a message it renews its claim; a claim goes
// stale (and may be taken over) only when its replica stops renewing it:
// it died. A claim is done when the message's first reply is written: the reply's
// outbox row and the done mark commit in one transaction (outbox.TxHook),
// so a replica that dies before replying leaves the message to another
// (its claim goes stale and may be taken over), and one that dies after
// replying has its reply delivered by the outbox and the message is not
// handled again. A message that gets no reply is done when handling ends.
package inbound

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/outbox"
)

// Defaults.
const (
	// DefaultStale is how long a claim not yet done holds before another
	// replica may take the message over (its claimer presumed dead).
	DefaultStale = time.Minute
	// DefaultKeep is how long claims are kept (redeliveries older than
	// this are handled again).
	DefaultKeep = 7 * 24 * time.Hour
)

// Claims claims inbound messages for one replica.
type Claims struct {
	db     *sql.DB
	holder string
	clock  clock.Clock
	log    *slog.Logger
	stale  time.Duration
	keep   time.Duration
	result *prometheus.CounterVec

	mu       sync.Mutex
	renewing map[claimKey]context.CancelFunc
}

// Options configure Claims.
type Options struct {
	Holder  string // this replica's name
	Stale   time.Duration
	Keep    time.Duration
	Clock   clock.Clock
	Logger  *slog.Logger
	Metrics prometheus.Registerer
}

// New returns Claims over db, which has the inbound_claims table.
func New(db *sql.DB, o Options) *Claims {
	if o.Stale <= 0 {
		o.Stale = DefaultStale
	}
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Claims{db: db, holder: o.Holder, clock: o.Clock, log: o.Logger, stale: o.Stale, keep: o.Keep, renewing: map[claimKey]context.CancelFunc{},
		result: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_inbound_claims_total",
			Help: "Inbound chat messages claimed before handling, by result: claimed (handled here), duplicate (another replica has it, or a redelivery), error (the database failed; handled anyway).",
		}, []string{"result"}),
	}
	if o.Metrics != nil {
		o.Metrics.MustRegister(c.result)
	}
	return c
}

const claimSQL = `INSERT INTO inbound_claims (adapter, message_id, holder, claimed, done) VALUES ($1, $2, $3, $4, FALSE)
ON CONFLICT (adapter, message_id) DO UPDATE SET holder = excluded.holder, claimed = excluded.claimed
WHERE inbound_claims.done = FALSE AND inbound_claims.claimed < $5`

const doneSQL = `UPDATE inbound_claims SET done = TRUE WHERE adapter = $1 AND message_id = $2 AND holder = $3`

// Claim claims m. It reports whether this replica is to handle it, and
// returns the context to handle it with: its first post through the outbox
// marks the claim done in the same transaction. A message without an ID
// cannot be claimed and is handled. When the database fails, m is handled
// (a reply twice is better than none) and the error returned for the log.
func (c *Claims) Claim(ctx context.Context, m chat.Message) (context.Context, bool, error) {
	if m.ID == "" {
		return ctx, true, nil
	}
	now := c.clock.Now()
	res, err := c.db.ExecContext(ctx, claimSQL, m.Room.Adapter, m.ID, c.holder, now.UnixMilli(), now.Add(-c.stale).UnixMilli())
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		c.result.WithLabelValues("error").Inc()
		return ctx, true, fmt.Errorf("claim message %s/%s: %w", m.Room.Adapter, m.ID, err)
	}
	if n == 0 {
		c.result.WithLabelValues("duplicate").Inc()
		return ctx, false, nil
	}
	c.result.WithLabelValues("claimed").Inc()
	adapter, id := m.Room.Adapter, m.ID
	hctx := outbox.WithTxHook(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, doneSQL, adapter, id, c.holder)
		return err
	})
	// While the message is handled (a long command may not reply for
	// minutes), the claim is renewed, so it goes stale only when this
	// replica dies.
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.mu.Lock()
	c.renewing[claimKey{adapter, id}] = stop
	c.mu.Unlock()
	go c.renew(rctx, adapter, id)
	return hctx, true, nil
}

type claimKey struct{ adapter, id string }

// renew keeps a claim fresh every Stale/3 until ctx ends (Done).
func (c *Claims) renew(ctx context.Context, adapter, id string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.clock.After(c.stale / 3):
		}
		_, err := c.db.ExecContext(ctx, `UPDATE inbound_claims SET claimed = $1 WHERE adapter = $2 AND message_id = $3 AND holder = $4 AND done = FALSE`,
			c.clock.Now().UnixMilli(), adapter, id, c.holder)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("inbound claim: renew", "adapter", adapter, "id", id, "err", err)
		}
	}
}

// stopRenewing ends the renewal of a claim.
func (c *Claims) stopRenewing(adapter, id string) {
	c.mu.Lock()
	stop := c.renewing[claimKey{adapter, id}]
	delete(c.renewing, claimKey{adapter, id})
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Done marks m handled, unless its first reply did already. It must be
// called for every message Claim gave this replica.
func (c *Claims) Done(ctx context.Context, m chat.Message) error {
	if m.ID == "" {
		return nil
	}
	c.stopRenewing(m.Room.Adapter, m.ID)
	if outbox.HookDone(ctx) {
		return nil
	}
	if _, err := c.db.ExecContext(context.WithoutCancel(ctx), doneSQL, m.Room.Adapter, m.ID, c.holder); err != nil {
		return fmt.Errorf("claim of %s/%s done: %w", m.Room.Adapter, m.ID, err)
	}
	return nil
}

// Purge deletes claims older than the keep time.
func (c *Claims) Purge(ctx context.Context) (int64, error) {
	res, err := c.db.ExecContext(ctx, `DELETE FROM inbound_claims WHERE claimed < $1`, c.clock.Now().Add(-c.keep).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purge inbound claims: %w", err)
	}
	return res.RowsAffected()
}

// Run purges old claims every hour until ctx ends.
func (c *Claims) Run(ctx context.Context) {
	for {
		if n, err := c.Purge(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("inbound claims", "err", err)
		} else if n > 0 {
			c.log.Debug("inbound claims purged", "n", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.clock.After(time.Hour):
		}
	}
}
