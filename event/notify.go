package event

import (
	"context"
	"sync"
)

// Notifier wakes durable consumers of the log when events were appended, so
// they read on with After(cursor) at once instead of polling. A wake-up
// carries no data and several appends may give one wake-up: the consumer
// reads until After returns nothing, then waits again.
type Notifier struct {
	mu       sync.Mutex
	watchers map[chan struct{}]struct{}
}

// Notify returns a channel that receives after events were appended (from
// this process; a consumer on PostgreSQL shared with other opsbot processes
// should still poll now and then). The channel is closed when ctx ends.
func (n *Notifier) Notify(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	if n.watchers == nil {
		n.watchers = map[chan struct{}]struct{}{}
	}
	n.watchers[ch] = struct{}{}
	n.mu.Unlock()
	context.AfterFunc(ctx, func() {
		n.mu.Lock()
		delete(n.watchers, ch)
		n.mu.Unlock()
		close(ch)
	})
	return ch
}

// Wake signals every watcher without blocking.
func (n *Notifier) Wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
