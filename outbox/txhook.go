package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// TxHook runs in the transaction that writes a post, so what it records
// commits with the post or not at all. The inbound claims use it to mark a
// message handled together with its first reply: a replica that dies before
// the reply is written leaves the message to another; one that dies after
// has both written.
type TxHook func(ctx context.Context, tx *sql.Tx) error

type txHookKey struct{}

// onceHook runs its hook in the first post's transaction only.
type onceHook struct {
	mu   sync.Mutex
	hook TxHook
	done bool
}

// WithTxHook returns a context whose first post through the outbox runs hook
// in its writing transaction. Later posts with the same context don't.
func WithTxHook(ctx context.Context, hook TxHook) context.Context {
	return context.WithValue(ctx, txHookKey{}, &onceHook{hook: hook})
}

// insert writes a post row and returns its id, in a transaction with the
// context's hook when it has one that has not run yet.
func (o *Outbox) insert(ctx context.Context, args ...any) (int64, error) {
	h, _ := ctx.Value(txHookKey{}).(*onceHook)
	if h != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
	}
	if h == nil || h.done {
		var id int64
		err := o.db.QueryRowContext(ctx, insertSQL, args...).Scan(&id)
		return id, err
	}
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, insertSQL, args...).Scan(&id); err != nil {
		return 0, err
	}
	if err := h.hook(ctx, tx); err != nil {
		return 0, fmt.Errorf("post hook: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	h.done = true
	return id, nil
}

// HookDone reports whether ctx's TxHook ran (with a post that committed).
func HookDone(ctx context.Context) bool {
	h, _ := ctx.Value(txHookKey{}).(*onceHook)
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.done
}
