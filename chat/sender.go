package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// Formatter is an adapter that renders the Markdown subset of Post.Text in its
// own markup (with Render). Adapters that don't implement it, or return false,
// receive Plain(text).
type Formatter interface {
	FormatsMarkdown() bool
}

// RichPoster is an adapter that renders Post.Fields, Post.Links, Post.Image
// and Post.Severity itself. For the others the Sender folds fields, links and
// the image URL into the text and marks the severity with a text prefix.
type RichPoster interface {
	RendersRich() bool
}

// Acknowledger is an adapter that wants to know when the bot has finished
// with an inbound message (answered it, failed, or ignored it). The bot calls
// Sender.Handled for every message it takes from an adapter; the shell uses it
// to exit only after the last piped line was answered.
type Acknowledger interface {
	Handled(msg Message)
}

// ErrUnknownAdapter is returned for a room or ref naming no adapter of the Sender.
var ErrUnknownAdapter = errors.New("unknown chat adapter")

// DefaultChoiceTTL is how long a numbered choice can be answered.
const DefaultChoiceTTL = 10 * time.Minute

// maxThreadKeys bounds the memory of which post carried which thread key.
const maxThreadKeys = 4096

// Sender posts through a set of adapters and applies, in this one place, the
// fallbacks for what an adapter cannot do:
//
//   - buttons on a chat without them become a numbered list ("1. Approve");
//     ResolveChoice turns the reply "1" into the first button's Value;
//   - a thread on a chat without threads becomes a room post prefixed with the
//     thread key ("[deploy #42] "), taken from the post or from its parent;
//   - an edit on a chat without edits becomes a new post;
//   - a text over the chat's limit (Limiter) is split into several posts;
//   - Markdown on a chat without formatting (Formatter) is rendered Plain;
//   - fields, links, the image and the severity on a chat without rich posts
//     (RichPoster) become "Name: value" and "Title: URL" lines and a
//     "[CRITICAL] " or "[WARNING] " prefix. Post.Severity is kept so such an
//     adapter may still colour the text, but it must not add its own marker.
//
// The parts of one split post are not interleaved with other posts the
// Sender makes to the same room. A Sender is safe for concurrent use.
type Sender struct {
	mu         sync.Mutex
	adapters   map[string]Adapter
	clock      clock.Clock
	ttl        time.Duration
	choices    map[location]choice
	threadKeys map[string]string
	keyOrder   []string
	rooms      map[string]*roomLock
}

// location is where a numbered choice was posted: a room, and a thread root or "".
type location struct {
	adapter, room, thread string
}

type choice struct {
	values  []string
	post    string // the post carrying the list
	expires time.Time
}

// roomLock is a per-room semaphore; users counts who holds or waits for it.
type roomLock struct {
	sem   chan struct{}
	users int
}

// NewSender returns a Sender over adapters, on the real clock, with
// DefaultChoiceTTL.
func NewSender(adapters ...Adapter) *Sender {
	s := &Sender{
		adapters:   make(map[string]Adapter),
		clock:      clock.Real{},
		ttl:        DefaultChoiceTTL,
		choices:    make(map[location]choice),
		threadKeys: make(map[string]string),
		rooms:      make(map[string]*roomLock),
	}
	for _, a := range adapters {
		s.Add(a)
	}
	return s
}

// Add adds an adapter, replacing one of the same name.
func (s *Sender) Add(a Adapter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adapters[a.Name()] = a
}

// Adapter returns the adapter named name.
func (s *Sender) Adapter(name string) (Adapter, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.adapters[name]
	return a, ok
}

// Adapters returns the adapters, sorted by name.
func (s *Sender) Adapters() []Adapter {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Adapter, 0, len(s.adapters))
	for _, a := range s.adapters {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Adapter) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// SetClock sets the clock numbered choices expire on.
func (s *Sender) SetClock(c clock.Clock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = c
}

// SetChoiceTTL sets how long a numbered choice can be answered (d <= 0 restores the default).
func (s *Sender) SetChoiceTTL(d time.Duration) {
	if d <= 0 {
		d = DefaultChoiceTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// Post posts p to room. For a post split in parts, the Ref names the first part.
func (s *Sender) Post(ctx context.Context, room Room, p Post) (Ref, error) {
	a, err := s.adapterFor(room.Adapter)
	if err != nil {
		return Ref{}, err
	}
	return s.send(ctx, a, room, nil, p)
}

// PostInThread posts p in the thread of parent, or, on a chat without threads,
// to parent's room prefixed with the thread key (p.ThreadKey, else the key
// parent's post had).
func (s *Sender) PostInThread(ctx context.Context, parent Ref, p Post) (Ref, error) {
	a, err := s.adapterFor(parent.Room.Adapter)
	if err != nil {
		return Ref{}, err
	}
	if p.ThreadKey == "" {
		p.ThreadKey = s.threadKeyOf(parent)
	}
	if _, ok := a.(Threader); !ok {
		return s.send(ctx, a, parent.Room, nil, p)
	}
	return s.send(ctx, a, parent.Room, &parent, p)
}

// Update changes the post ref names. On a chat without edits it posts p anew
// (in ref's thread where the chat has threads) and returns the new Ref;
// otherwise it returns ref. Text beyond the chat's limit follows the edited
// post as new posts.
func (s *Sender) Update(ctx context.Context, ref Ref, p Post) (Ref, error) {
	a, err := s.adapterFor(ref.Room.Adapter)
	if err != nil {
		return Ref{}, err
	}
	if p.ThreadKey == "" {
		p.ThreadKey = s.threadKeyOf(ref)
	}
	_, threads := a.(Threader)
	var parent *Ref
	if ref.Thread != "" && threads {
		parent = &Ref{Room: ref.Room, ID: ref.Thread}
	}
	if len(p.Buttons) == 0 {
		s.forgetChoiceOf(ref)
	}
	e, ok := a.(Editor)
	if !ok {
		return s.send(ctx, a, ref.Room, parent, p)
	}
	parts, values := render(a, p)
	unlock, err := s.lockRoom(ctx, ref.Room)
	if err != nil {
		return ref, err
	}
	defer unlock()
	if err := e.Update(ctx, ref, parts[0]); err != nil {
		return ref, fmt.Errorf("chat: update %s post %s: %w", ref.Room, ref.ID, err)
	}
	last := ref
	for i, part := range parts[1:] {
		if last, err = postTo(ctx, a, ref.Room, parent, part); err != nil {
			return ref, fmt.Errorf("chat: update %s post %s (part %d of %d): %w", ref.Room, ref.ID, i+2, len(parts), err)
		}
		s.rememberThreadKey(last, p.ThreadKey)
	}
	s.rememberThreadKey(ref, p.ThreadKey)
	if values != nil {
		s.rememberChoice(choiceLocation(last, parent), last.ID, values)
	}
	return ref, nil
}

// ResolveChoice turns a reply to a numbered list ("2") in room and thread
// (Message.Room and Message.Thread) into the chosen button's Value. A choice
// resolves once; it expires after the choice TTL or when a newer list is
// posted in the same place.
func (s *Sender) ResolveChoice(room Room, thread Ref, text string) (string, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(text), "."))
	if err != nil || n < 1 {
		return "", false
	}
	loc := location{adapter: room.Adapter, room: room.ID, thread: rootOf(thread)}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.choices[loc]
	if !ok {
		return "", false
	}
	if !s.clock.Now().Before(c.expires) {
		delete(s.choices, loc)
		return "", false
	}
	if n > len(c.values) {
		return "", false
	}
	delete(s.choices, loc)
	return c.values[n-1], true
}

// Handled tells msg's adapter, if it is an Acknowledger, that the bot has
// finished with msg.
func (s *Sender) Handled(msg Message) {
	a, ok := s.Adapter(msg.Room.Adapter)
	if !ok {
		return
	}
	if ack, ok := a.(Acknowledger); ok {
		ack.Handled(msg)
	}
}

func (s *Sender) adapterFor(name string) (Adapter, error) {
	a, ok := s.Adapter(name)
	if !ok {
		return nil, fmt.Errorf("chat: %w %q", ErrUnknownAdapter, name)
	}
	return a, nil
}

// send renders p for a, and posts its parts to room (in parent's thread if
// parent is set), in order and without other posts of this Sender between them.
func (s *Sender) send(ctx context.Context, a Adapter, room Room, parent *Ref, p Post) (Ref, error) {
	parts, values := render(a, p)
	unlock, err := s.lockRoom(ctx, room)
	if err != nil {
		return Ref{}, err
	}
	defer unlock()
	var first, last Ref
	for i, part := range parts {
		ref, err := postTo(ctx, a, room, parent, part)
		if err != nil {
			if len(parts) > 1 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
			}
			return first, fmt.Errorf("chat: post to %s: %w", room, err)
		}
		if i == 0 {
			first = ref
		}
		last = ref
		s.rememberThreadKey(ref, p.ThreadKey)
	}
	if values != nil {
		s.rememberChoice(choiceLocation(last, parent), last.ID, values)
	}
	return first, nil
}

func postTo(ctx context.Context, a Adapter, room Room, parent *Ref, p Post) (Ref, error) {
	if parent != nil {
		return a.(Threader).PostInThread(ctx, *parent, p)
	}
	return a.Post(ctx, room, p)
}

// render applies a's fallbacks to p and splits it into the posts to make.
// values are the buttons' values when they were rendered as a numbered list.
func render(a Adapter, p Post) (parts []Post, values []string) {
	text := p.Text
	if f, ok := a.(Formatter); !ok || !f.FormatsMarkdown() {
		text = Plain(text)
	}
	var lines []string
	if r, ok := a.(RichPoster); !ok || !r.RendersRich() {
		if m := severityMarker(p.Severity); m != "" && text == "" {
			text = strings.TrimSpace(m)
		} else {
			text = m + text
		}
		for _, f := range p.Fields {
			lines = append(lines, f.Name+": "+f.Value)
		}
		for _, l := range p.Links {
			lines = append(lines, linkLine(l))
		}
		if p.Image != nil && p.Image.URL != "" {
			lines = append(lines, linkLine(Link{Title: p.Image.Alt, URL: p.Image.URL}))
			p.Image = nil
		}
		p.Fields, p.Links = nil, nil
	}
	if i, ok := a.(Interactive); len(p.Buttons) > 0 && (!ok || !i.RendersButtons()) {
		for n, b := range p.Buttons {
			lines = append(lines, strconv.Itoa(n+1)+". "+b.Label)
			values = append(values, b.Value)
		}
		lines[len(lines)-1] += " — reply with the number"
		p.Buttons = nil
	}
	if len(lines) > 0 {
		if text != "" {
			lines = append([]string{text}, lines...)
		}
		text = strings.Join(lines, "\n")
	}

	prefix := ""
	if _, ok := a.(Threader); !ok && p.ThreadKey != "" {
		prefix = "[" + p.ThreadKey + "] "
	}
	limit := 0
	if l, ok := a.(Limiter); ok && l.MaxPostLen() > 0 {
		limit = max(l.MaxPostLen()-len(prefix), 1)
	}
	texts := Split(text, limit)
	parts = make([]Post, len(texts))
	for i, t := range texts {
		part := Post{Text: prefix + t, Severity: p.Severity, ThreadKey: p.ThreadKey}
		if i == 0 {
			part.Mentions = p.Mentions
		}
		if i == len(texts)-1 {
			part.Fields, part.Links, part.Buttons, part.Image = p.Fields, p.Links, p.Buttons, p.Image
		}
		parts[i] = part
	}
	return parts, values
}

func severityMarker(s Severity) string {
	switch s {
	case SeverityCritical:
		return "[CRITICAL] "
	case SeverityWarning:
		return "[WARNING] "
	}
	return ""
}

func linkLine(l Link) string {
	if l.Title == "" || l.Title == l.URL {
		return l.URL
	}
	return l.Title + ": " + l.URL
}

// rootOf is the ID of the thread a ref is in, or names: its Thread, else its ID.
func rootOf(r Ref) string {
	if r.Thread != "" {
		return r.Thread
	}
	return r.ID
}

// choiceLocation is where a reply to the list in post ref would come from.
func choiceLocation(ref Ref, parent *Ref) location {
	loc := location{adapter: ref.Room.Adapter, room: ref.Room.ID, thread: ref.Thread}
	if loc.thread == "" && parent != nil {
		loc.thread = rootOf(*parent)
	}
	return loc
}

func (s *Sender) rememberChoice(loc location, post string, values []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for l, c := range s.choices {
		if !now.Before(c.expires) {
			delete(s.choices, l)
		}
	}
	s.choices[loc] = choice{values: values, post: post, expires: now.Add(s.ttl)}
}

// forgetChoiceOf drops the pending choice a post carried, once an edit removed its buttons.
func (s *Sender) forgetChoiceOf(ref Ref) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l, c := range s.choices {
		if c.post == ref.ID && l.adapter == ref.Room.Adapter && l.room == ref.Room.ID {
			delete(s.choices, l)
		}
	}
}

func threadKeyID(r Ref) string { return r.Room.Adapter + "\x00" + r.Room.ID + "\x00" + r.ID }

func (s *Sender) rememberThreadKey(ref Ref, key string) {
	if key == "" || ref.ID == "" {
		return
	}
	id := threadKeyID(ref)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.threadKeys[id]; !ok {
		s.keyOrder = append(s.keyOrder, id)
	}
	s.threadKeys[id] = key
	if len(s.keyOrder) > maxThreadKeys {
		delete(s.threadKeys, s.keyOrder[0])
		s.keyOrder = s.keyOrder[1:]
	}
}

// threadKeyOf is the thread key the post ref names was made with, or that of
// its thread's root.
func (s *Sender) threadKeyOf(ref Ref) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.threadKeys[threadKeyID(ref)]; ok {
		return k
	}
	if ref.Thread != "" {
		return s.threadKeys[threadKeyID(Ref{Room: ref.Room, ID: ref.Thread})]
	}
	return ""
}

// lockRoom keeps the parts of one post together in a room. It returns the
// unlock, or ctx's error if ctx ends first.
func (s *Sender) lockRoom(ctx context.Context, room Room) (func(), error) {
	key := room.Adapter + "\x00" + room.ID
	s.mu.Lock()
	l, ok := s.rooms[key]
	if !ok {
		l = &roomLock{sem: make(chan struct{}, 1)}
		s.rooms[key] = l
	}
	l.users++
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if l.users--; l.users == 0 {
			delete(s.rooms, key)
		}
	}
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, fmt.Errorf("chat: post to %s: %w", room, ctx.Err())
	}
}
