package bottest

import (
	"context"
	"fmt"
	"sync"

	"github.com/opsbot/opsbot/chat"
)

// Posted is one post the bot made, as the fake chat recorded it.
type Posted struct {
	Ref    chat.Ref
	Room   string // room ID
	Thread string // parent post ID, "" for a room post
	Post   chat.Post
	Edited bool
}

// Adapter is an in-memory chat named "test" with threads and edits (but no
// buttons, so button fallbacks are exercised unless Buttons is set).
type Adapter struct {
	Buttons bool

	mu     sync.Mutex
	posts  []Posted
	nextID int
	notify chan struct{}
}

// NewAdapter returns an empty fake chat.
func NewAdapter() *Adapter { return &Adapter{notify: make(chan struct{}, 1)} }

func (a *Adapter) Name() string { return "test" }

// Run waits; tests deliver messages directly through the bot.
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	<-ctx.Done()
	return nil
}

func (a *Adapter) record(p Posted) chat.Ref {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	p.Ref.ID = fmt.Sprint(a.nextID)
	a.posts = append(a.posts, p)
	select {
	case a.notify <- struct{}{}:
	default:
	}
	return p.Ref
}

func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	return a.record(Posted{Ref: chat.Ref{Room: to}, Room: to.ID, Post: p}), nil
}

func (a *Adapter) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	root := parent.ID
	if parent.Thread != "" {
		root = parent.Thread
	}
	return a.record(Posted{Ref: chat.Ref{Room: parent.Room, Thread: root}, Room: parent.Room.ID, Thread: root, Post: p}), nil
}

func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	a.record(Posted{Ref: chat.Ref{Room: ref.Room, Thread: ref.Thread}, Room: ref.Room.ID, Thread: ref.Thread, Post: p, Edited: true})
	return nil
}

func (a *Adapter) RendersButtons() bool { return a.Buttons }

// All returns every post so far.
func (a *Adapter) All() []Posted {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Posted(nil), a.posts...)
}

var (
	_ chat.Adapter     = (*Adapter)(nil)
	_ chat.Threader    = (*Adapter)(nil)
	_ chat.Editor      = (*Adapter)(nil)
	_ chat.Interactive = (*Adapter)(nil)
)

// FormatsMarkdown keeps the post text as the bot wrote it, so tests can
// assert on it exactly.
func (a *Adapter) FormatsMarkdown() bool { return true }

// RendersRich keeps fields and links out of the text.
func (a *Adapter) RendersRich() bool { return true }

// RateLimits: a test chat has no rate limit, so posts aren't held by the
// outbox on the test's fake clock.
func (a *Adapter) RateLimits() chat.RateLimits { return chat.RateLimits{} }
