package bot

import (
	"context"

	"github.com/opsbot/opsbot/chat"
)

// clickAnswerer is an adapter that can answer a button click where it
// happened (Slack): privately to whoever clicked, or by replacing the post
// the button was on (which removes its buttons).
type clickAnswerer interface {
	AnswerClick(ctx context.Context, click chat.Message, p chat.Post, private bool) error
}

// answerClick answers the click m in place when m is a click and its
// adapter can; it reports whether it did (else the caller replies as usual).
func (b *Bot) answerClick(ctx context.Context, m chat.Message, p chat.Post, private bool) bool {
	if m.Action == nil {
		return false
	}
	a, ok := b.sender.Adapter(m.Room.Adapter)
	if !ok {
		return false
	}
	ca, ok := a.(clickAnswerer)
	if !ok {
		return false
	}
	if err := ca.AnswerClick(ctx, m, b.mask(p), private); err != nil {
		b.log.Warn("answer click failed", "adapter", m.Room.Adapter, "err", err)
		return false
	}
	return true
}

// clicker names who clicked, for "confirmed by …".
func clicker(m chat.Message, p string) string {
	if m.From.Name != "" {
		return m.From.Name
	}
	return p
}
