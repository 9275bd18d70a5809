package bot

import (
	"context"

	"github.com/opsbot/opsbot/chat"
)

// Claimer claims an inbound message before it is handled, so that with
// several replicas receiving the same message one handles it (package
// inbound). Claim returns the context to handle the message with.
type Claimer interface {
	Claim(ctx context.Context, m chat.Message) (context.Context, bool, error)
	Done(ctx context.Context, m chat.Message) error
}

// SetClaimer makes the bot claim every inbound message before handling it
// (set when replicas share the database).
func (b *Bot) SetClaimer(c Claimer) { b.claimer = c }

// handleClaimed handles m if this replica's claim on it holds.
func (b *Bot) handleClaimed(ctx context.Context, m chat.Message) {
	if b.claimer == nil {
		b.Handle(ctx, m)
		return
	}
	hctx, mine, err := b.claimer.Claim(ctx, m)
	if err != nil {
		b.log.Error("cannot claim the message; handling it anyway", "adapter", m.Room.Adapter, "id", m.ID, "err", err)
	}
	if !mine {
		b.log.Debug("message claimed elsewhere", "adapter", m.Room.Adapter, "id", m.ID)
		return
	}
	b.Handle(hctx, m)
	if err := b.claimer.Done(hctx, m); err != nil {
		b.log.Warn("inbound claim", "err", err)
	}
}
