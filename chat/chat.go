// Package chat is the chat model every adapter implements and every module
// posts through: rooms, identities, inbound messages and rich posts.
//
// The core interface is small (Adapter); what only some chats can do
// (threads, edits, buttons, uploads, reactions) is an optional interface.
// A chat that lacks a capability degrades by rule, in one place: see Sender.
package chat

import (
	"context"
	"errors"
)

// Adapter connects opsbot to one chat system.
type Adapter interface {
	// Name is the adapter's name as used in identities and config: "slack", "irc", "web", "shell".
	Name() string
	// Run connects and delivers inbound messages until ctx ends. It reconnects by itself
	// where the chat allows; it returns only when ctx ends or on a permanent error.
	Run(ctx context.Context, in chan<- Message) error
	// Post sends a post to a room and returns a reference to it.
	Post(ctx context.Context, to Room, p Post) (Ref, error)
}

// Threader is an adapter that can reply in a thread under an earlier post.
type Threader interface {
	PostInThread(ctx context.Context, parent Ref, p Post) (Ref, error)
}

// Editor is an adapter that can change a post it made.
type Editor interface {
	Update(ctx context.Context, ref Ref, p Post) error
}

// Interactive is an adapter that renders Post.Buttons as clickable buttons;
// a click arrives as a Message with Action set.
type Interactive interface {
	RendersButtons() bool
}

// Uploader is an adapter that can attach a file to a room.
type Uploader interface {
	Upload(ctx context.Context, to Room, name string, data []byte) (Ref, error)
}

// Reactor is an adapter that can add a reaction (an emoji name) to a message.
type Reactor interface {
	React(ctx context.Context, ref Ref, emoji string) error
}

// Limiter is an adapter that states the largest post text it accepts (in bytes).
type Limiter interface {
	MaxPostLen() int
}

// Room names a place to post: an adapter and the chat's own room ID.
type Room struct {
	Adapter string `json:"adapter"`
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"` // human name, where known ("#ops")
}

func (r Room) String() string {
	if r.Name != "" {
		return r.Adapter + ":" + r.Name
	}
	return r.Adapter + ":" + r.ID
}

// Identity is a chat user as the chat knows them.
type Identity struct {
	Adapter string `json:"adapter"`
	ID      string `json:"id"`             // stable ID in that chat (Slack U024BE7LH, IRC account, JID)
	Name    string `json:"name,omitempty"` // display name or nick
}

// Key is the identity's stable key, "adapter:id".
func (i Identity) Key() string { return i.Adapter + ":" + i.ID }

// Ref identifies a post an adapter made, so it can be threaded under or edited.
type Ref struct {
	Room Room   `json:"room"`
	ID   string `json:"id"`
	// Thread is the root of the thread this post is in, if any.
	Thread string `json:"thread,omitempty"`
}

// IsZero reports whether the ref names no post.
func (r Ref) IsZero() bool { return r.ID == "" }

// Message is one inbound chat message or button click.
type Message struct {
	ID     string   `json:"id"` // unique per adapter; used to claim a message once
	Room   Room     `json:"room"`
	From   Identity `json:"from"`
	Text   string   `json:"text"`
	Thread Ref      `json:"thread,omitempty"` // set when the message is a reply in a thread
	Direct bool     `json:"direct,omitempty"` // a direct (private) message to the bot
	Action *Action  `json:"action,omitempty"` // set for a button click
}

// Action is a button click.
type Action struct {
	ID    string `json:"id"`    // the Button.ID clicked
	Value string `json:"value"` // the Button.Value
}

// Severity colours a post.
type Severity string

const (
	SeverityNone     Severity = ""
	SeverityInfo     Severity = "info"
	SeveritySuccess  Severity = "success"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Post is the rich post model, rendered per adapter.
//
// Text uses a small Markdown subset: *bold*, _italic_, `code`, ```blocks```,
// [label](url) links and "- " lists. Adapters without formatting render it plain
// (see Plain).
type Post struct {
	Text      string   `json:"text"`
	Severity  Severity `json:"severity,omitempty"`
	Fields    []Field  `json:"fields,omitempty"`
	Links     []Link   `json:"links,omitempty"`
	Buttons   []Button `json:"buttons,omitempty"`
	Image     *Image   `json:"image,omitempty"`
	ThreadKey string   `json:"thread_key,omitempty"` // "deploy #42": groups a deployment's or incident's updates
	Mentions  []string `json:"mentions,omitempty"`   // chat user IDs to mention
}

// Field is a key/value pair shown beside the text.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Short bool   `json:"short,omitempty"`
}

// Link is a titled URL.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Button is something to click. Where a chat has no buttons it becomes a
// numbered choice answered by "1", "2"…; either way the bot receives Value as
// if the user had typed it (an Action in the click case).
type Button struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Value string `json:"value"` // the command text the click sends, e.g. "yes 4821"
	Style string `json:"style,omitempty"`
}

// Image is a picture attached to a post.
type Image struct {
	URL  string `json:"url,omitempty"`
	Alt  string `json:"alt,omitempty"`
	Data []byte `json:"-"`
}

// ErrPermanent marks an adapter error that retrying will not fix.
var ErrPermanent = errors.New("permanent chat error")
