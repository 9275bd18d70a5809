package bot

import (
	"context"
	"errors"

	"github.com/opsbot/opsbot/event"
)

// ErrNoIngester is returned by Host.Ingest when the bot has no event ingester.
var ErrNoIngester = errors.New("the bot has no event ingester (SetIngester was not called)")

// SetIngester gives the bot the way events come in; the app calls it before Provision.
func (b *Bot) SetIngester(i event.Ingester) { b.ingester = i }

// Ingester is the bot's event ingester (nil when it has none).
func (b *Bot) Ingester() event.Ingester { return b.ingester }

// Ingest stores events and lets subscribers react: how a module emits ops
// messages (a deployment started, a webhook arrived).
func (h *Host) Ingest(ctx context.Context, events ...event.Event) ([]event.Stored, error) {
	if h.bot.ingester == nil {
		return nil, ErrNoIngester
	}
	for i := range events {
		if events[i].Source == "" {
			events[i].Source = h.module
		}
	}
	return h.bot.ingester.Ingest(ctx, events)
}
