package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The outbox's statements, over the store's database: $N placeholders work on
// SQLite and PostgreSQL alike, times are unix milliseconds (see
// store/sqlstore/migrations/*/00020_outbox.sql).

const insertSQL = `INSERT INTO outbox (adapter, room, room_name, op, target, post, state, next_attempt, enqueued)
	VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $7) RETURNING id`

// claimSQL takes the head of a room's queue (its lowest pending id) when it
// is due and not held by a live claim. On PostgreSQL two replicas running it
// at once serialise on the row, and the loser's re-checked WHERE fails, so a
// row has one deliverer; and as only the head is ever claimed, a room's posts
// go out in order whichever replica sends them. The state is checked again
// outside the subquery: the loser's re-check sees the row as its rival left
// it, which may be 'sent' with lease_until 0 — without that condition it
// would claim a delivered post and deliver it again.
const claimSQL = `UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_by = $1, lease_until = $2,
		reclaimed = CASE WHEN state = 'sending' THEN 1 ELSE 0 END
	WHERE id = (SELECT id FROM outbox WHERE adapter = $3 AND room = $4 AND state IN ('queued', 'sending') ORDER BY id LIMIT 1)
		AND next_attempt <= $5 AND (state = 'queued' OR (state = 'sending' AND lease_until <= $5))
	RETURNING id, room_name, op, target, post, attempts, errors, reclaimed, enqueued`

// headSQL is the head of a room's queue, to know when to look again.
const headSQL = `SELECT state, next_attempt, lease_until FROM outbox
	WHERE adapter = $1 AND room = $2 AND state IN ('queued', 'sending') ORDER BY id LIMIT 1`

const sentSQL = `UPDATE outbox SET state = 'sent', finished = $1, ref = $2, error_text = '', claimed_by = '', lease_until = 0
	WHERE id = $3 AND claimed_by = $4`

const retrySQL = `UPDATE outbox SET state = 'queued', next_attempt = $1, errors = errors + $2, error_text = $3, claimed_by = '', lease_until = 0
	WHERE id = $4 AND claimed_by = $5`

const failSQL = `UPDATE outbox SET state = 'failed', finished = $1, errors = errors + $2, error_text = $3, claimed_by = '', lease_until = 0
	WHERE id = $4 AND claimed_by = $5`

const roomsSQL = `SELECT DISTINCT adapter, room FROM outbox WHERE state IN ('queued', 'sending')`

const depthSQL = `SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'sending')`

const purgeSQL = `DELETE FROM outbox WHERE state = 'sent' AND finished < $1`

// releaseSQL ends the claims of an adapter ("": all): on SQLite, at start,
// where one process delivers an adapter's posts and a claim left is from a
// process that died.
const releaseSQL = `UPDATE outbox SET lease_until = 0 WHERE state = 'sending' AND ($1 = '' OR adapter = $1)`

const rowSQL = `SELECT id, adapter, room, room_name, op, target, post, state, attempts, errors, enqueued, finished, ref, error_text
	FROM outbox WHERE id = $1`

const failedSQL = `SELECT id, adapter, room, room_name, op, target, post, state, attempts, errors, enqueued, finished, ref, error_text
	FROM outbox WHERE state = 'failed' ORDER BY id DESC LIMIT $1`

const requeueSQL = `UPDATE outbox SET state = 'queued', errors = 0, next_attempt = $1, finished = 0 WHERE id = $2 AND state = 'failed'`

// exec runs a statement that must change one row; it reports whether it did.
func exec(ctx context.Context, db *sql.DB, query string, args ...any) (bool, error) {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// noRow reports sql.ErrNoRows.
func noRow(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("outbox: %s: %w", what, err)
}
