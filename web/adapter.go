package web

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// Adapter is the web chat as a chat.Adapter. It threads, edits, renders
// buttons, the Markdown subset and rich posts, and has no length limit.
type Adapter struct {
	m       *Module
	inbound chan chat.Message
	mu      sync.Mutex // orders store-then-push, so browsers see posts in ID order

	// With replicas (replicas.go): local holds what this process pushed.
	replicated bool
	claimStale time.Duration
	local      map[int64]int64
	primed     bool
	handedMu   sync.Mutex
	handed     map[int64]time.Time // message → when handed to the bot (replicas.go)
}

var (
	_ chat.Adapter     = (*Adapter)(nil)
	_ chat.Threader    = (*Adapter)(nil)
	_ chat.Editor      = (*Adapter)(nil)
	_ chat.Interactive = (*Adapter)(nil)
	_ chat.Formatter   = (*Adapter)(nil)
	_ chat.RichPoster  = (*Adapter)(nil)
)

// Name is "web".
func (a *Adapter) Name() string { return Name }

// RendersButtons is true: a click sends a chat.Message with Action set.
func (a *Adapter) RendersButtons() bool { return true }

// FormatsMarkdown is true: Post.Text is rendered to (escaped) HTML.
func (a *Adapter) FormatsMarkdown() bool { return true }

// RendersRich is true: fields, links, the image and the severity are shown as such.
func (a *Adapter) RendersRich() bool { return true }

// Run delivers what users post in the console until ctx ends. Messages
// posted while Run is not running wait in a buffer (the HTTP handler answers
// 503 when it is full).
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	if a.replicated {
		go a.follow(ctx, in)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case msg := <-a.inbound:
			select {
			case in <- msg:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

var errNotReady = errors.New("web console is not set up")

func (a *Adapter) room(to chat.Room) (string, error) {
	if to.Adapter != "" && to.Adapter != Name {
		return "", fmt.Errorf("room %s is not a web room: %w", to, chat.ErrPermanent)
	}
	if !validRoomName(to.ID) {
		return "", fmt.Errorf("room %q is not a web room name: %w", to.ID, chat.ErrPermanent)
	}
	return to.ID, nil
}

// Post stores p in the room (created if missing) and pushes it to the browsers there.
func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	name, err := a.room(to)
	if err != nil {
		return chat.Ref{}, err
	}
	msg, err := a.store(ctx, name, 0, p)
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: webRoom(name), ID: strconv.FormatInt(msg.ID, 10)}, nil
}

// PostInThread posts under parent's thread (or opens one under parent).
func (a *Adapter) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	name, err := a.room(parent.Room)
	if err != nil {
		return chat.Ref{}, err
	}
	root := parent.Thread
	if root == "" {
		root = parent.ID
	}
	rootID, err := strconv.ParseInt(root, 10, 64)
	if err != nil {
		return chat.Ref{}, fmt.Errorf("thread %q is not a web message ID: %w", root, chat.ErrPermanent)
	}
	msg, err := a.store(ctx, name, rootID, p)
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: webRoom(name), ID: strconv.FormatInt(msg.ID, 10), Thread: root}, nil
}

// Update replaces an earlier post's content and pushes the change.
func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	if !a.m.ready {
		return errNotReady
	}
	id, err := strconv.ParseInt(ref.ID, 10, 64)
	if err != nil {
		return fmt.Errorf("ref %q is not a web message ID: %w", ref.ID, chat.ErrPermanent)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	msg, err := a.m.updateMessage(ctx, id, p, a.m.clk.Now())
	if err != nil {
		return err
	}
	a.m.push(msg, true)
	return nil
}

func (a *Adapter) store(ctx context.Context, room string, thread int64, p chat.Post) (message, error) {
	if !a.m.ready {
		return message{}, errNotReady
	}
	if err := a.m.ensureRoom(ctx, room); err != nil {
		return message{}, err
	}
	p.Image = stripImageData(p.Image)
	msg := message{Room: room, Thread: thread, Author: a.m.botName, Bot: true, Post: p, Created: a.m.clk.Now()}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.m.insertMessage(ctx, &msg); err != nil {
		return message{}, err
	}
	a.m.push(msg, false)
	return msg, nil
}

// stripImageData keeps an image's URL; inline bytes are not kept in the history.
func stripImageData(img *chat.Image) *chat.Image {
	if img == nil || img.URL == "" {
		return nil
	}
	return &chat.Image{URL: img.URL, Alt: img.Alt}
}

func webRoom(name string) chat.Room { return chat.Room{Adapter: Name, ID: name, Name: "#" + name} }

// say stores a user's message, pushes it, and hands it to Run.
func (a *Adapter) say(ctx context.Context, user, room string, thread int64, text string, action *chat.Action) (message, error) {
	msg := message{Room: room, Thread: thread, Author: user, Post: chat.Post{Text: text}, Created: a.m.clk.Now()}
	a.mu.Lock()
	err := a.m.insertMessage(ctx, &msg)
	if err == nil {
		a.m.push(msg, false)
	}
	a.mu.Unlock()
	if err != nil {
		return msg, err
	}
	cm := a.chatMessage(msg, action)
	if a.replicated {
		a.handOn(msg.ID, a.m.clk.Now())
	}
	select {
	case a.inbound <- cm:
		return msg, nil
	case <-ctx.Done():
		return msg, ctx.Err()
	}
}
