package bot

import (
	"context"
	"errors"
	"strings"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/store"
)

const threadNS = "thread"

func threadKey(ref chat.Ref) string {
	id := ref.ID
	if ref.Thread != "" {
		id = ref.Thread
	}
	return ref.Room.Adapter + ":" + ref.Room.ID + "/" + id
}

// OpenThread posts p in room and remembers the post as a thread of kind with
// data, so replies in it reach the commands declared with Spec.Thread = kind.
func (b *Bot) OpenThread(ctx context.Context, room chat.Room, kind, data string, p chat.Post) (chat.Ref, error) {
	ref, err := b.Post(ctx, room, p)
	if err != nil {
		return ref, err
	}
	return ref, b.WatchThread(ctx, ref, kind, data)
}

// WatchThread makes an existing post a thread of kind with data.
func (b *Bot) WatchThread(ctx context.Context, ref chat.Ref, kind, data string) error {
	return b.store.Put(ctx, threadNS, threadKey(ref), kind+threadSep+data, b.clock.Now().AddDate(0, 0, 30))
}

// threadSep separates a thread's kind from its data in the stored value:
// the ASCII unit separator (PostgreSQL text refuses NUL, which earlier
// versions used on SQLite and is still read).
const threadSep = "\x1f"

func cutThread(v string) (kind, data string) {
	if k, d, ok := strings.Cut(v, threadSep); ok {
		return k, d
	}
	k, d, _ := strings.Cut(v, "\x00")
	return k, d
}

// threadOf returns the kind and data of the module thread a message replies in.
func (b *Bot) threadOf(ctx context.Context, ref chat.Ref) (kind, data string) {
	if ref.IsZero() || len(b.threads) == 0 {
		return "", ""
	}
	v, err := b.store.Get(ctx, threadNS, threadKey(ref), b.clock.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			b.log.Error("thread lookup failed", "err", err)
		}
		return "", ""
	}
	return threadKindOf(v), threadDataOf(v)
}

func threadKindOf(v string) string {
	k, _ := cutThread(v)
	return k
}

func threadDataOf(v string) string {
	_, d := cutThread(v)
	return d
}

// responder is how a call talks back.
type responder struct {
	b   *Bot
	msg chat.Message
}

func (r *responder) Reply(ctx context.Context, p chat.Post) (chat.Ref, error) {
	if !r.msg.Thread.IsZero() {
		return r.b.PostInThread(ctx, r.msg.Thread, p)
	}
	return r.b.Post(ctx, r.msg.Room, p)
}

func (r *responder) PostTo(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	return r.b.Post(ctx, room, p)
}

func (r *responder) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	return r.b.PostInThread(ctx, parent, p)
}

func (r *responder) OpenThread(ctx context.Context, kind, data string, p chat.Post) (chat.Ref, error) {
	return r.b.OpenThread(ctx, r.msg.Room, kind, data, p)
}
