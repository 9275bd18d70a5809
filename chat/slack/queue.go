package slack

import (
	"context"
	"encoding/json"
	"sync"
)

// envelope is one thing Slack sent, already acknowledged: an Events API
// callback, an interaction (a button click) or a slash command, with its
// JSON payload. Socket Mode and the HTTP routes both produce them.
type envelope struct {
	Type    string          // "events_api", "interactive", "slash_commands"
	Payload json.RawMessage // as Slack sent it (slash commands as JSON)
	Retry   int             // Slack's retry attempt, 0 the first time
}

const (
	typeEvents   = "events_api"
	typeInteract = "interactive"
	typeSlash    = "slash_commands"
)

// queue holds acknowledged envelopes until they are processed: acks never
// wait for the bot, and nothing acknowledged is dropped while it is busy.
type queue struct {
	mu    sync.Mutex
	items []envelope
	wake  chan struct{}
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

func (q *queue) push(e envelope) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop waits for the next envelope, or returns false when ctx ends.
func (q *queue) pop(ctx context.Context) (envelope, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			e := q.items[0]
			q.items[0] = envelope{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return e, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			return envelope{}, false
		}
	}
}
