// Package notify is the route tree and the notification pipeline, after
// Alertmanager's dispatch: events read from the durable event log (from a
// stored cursor) are matched against a tree of routes, grouped by labels,
// held for group_wait, re-posted only after group_interval or
// repeat_interval, throttled, muted in time windows, deduplicated by
// fingerprint, and handed to the bot's poster (the durable outbox). A group
// that stops firing posts "resolved" once. A route may also run a chat
// command as a service user on each new firing event.
//
// Delivery is at least once: posts of a batch are handed to the outbox
// before the cursor moves past the batch, in one transaction with the group
// state; a crash in between repeats those posts after the restart. Actions
// are at most once: each is recorded before it runs.
package notify

import (
	"context"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/event"
)

// Log is where events come from: the durable event log.
type Log interface {
	After(ctx context.Context, seq int64, limit int) ([]event.Stored, error)
}

// Waker tells that events were appended (event.Notifier); without it the
// pipeline polls.
type Waker interface {
	Notify(ctx context.Context) <-chan struct{}
}

// Poster is where posts go: the bot, whose poster is the durable outbox.
type Poster interface {
	Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error)
}

// Runner runs a route's action: text as the opsbot user, its output posted
// to rooms (bot.Bot.RunAs).
type Runner interface {
	RunAs(ctx context.Context, user string, rooms []chat.Room, text string) error
}

// Directory resolves mentions to chat user IDs on an adapter. It returns
// the IDs and the names it could not place (no identity on that adapter).
type Directory interface {
	Mentions(ctx context.Context, adapter string, names []string) (ids, unplaced []string)
}
