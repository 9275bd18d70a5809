package chattest_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
)

// The suite runs here against an in-memory chat, in a rich and a bare
// variant, so that every branch of it runs (the shell covers only one).

func TestSuiteOnARichChat(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness {
		return &memHarness{adapter: &richMem{memAdapter{name: "memrich", server: newServer(4000)}}}
	})
}

func TestSuiteOnABareChat(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness {
		return &memHarness{adapter: &bareMem{memAdapter{name: "membare", server: newServer(300)}}}
	})
}

var errNotConnected = errors.New("not connected")

// server is the in-memory chat: it keeps what each room shows and one
// connection to the bot, which Drop breaks.
type server struct {
	limit int

	mu        sync.Mutex
	conn      chan chat.Message // nil while the bot is not connected
	closed    chan struct{}
	connected chan struct{} // closed at each connect, then renewed
	posts     map[string][]string
	ids       map[string]int // post ID → index in its room
	n         int
	msgs      int
}

func newServer(limit int) *server {
	return &server{limit: limit, posts: map[string][]string{}, ids: map[string]int{}, connected: make(chan struct{})}
}

func (s *server) connect() (<-chan chat.Message, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn, s.closed = make(chan chat.Message, 16), make(chan struct{})
	close(s.connected)
	s.connected = make(chan struct{})
	return s.conn, s.closed
}

func (s *server) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		close(s.closed)
		s.conn = nil
	}
}

// deliver sends a message to the bot; like IRC, it is lost while the bot is away.
func (s *server) deliver(m chat.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.msgs++
		m.ID = "m" + strconv.Itoa(s.msgs)
		s.conn <- m
	}
}

func (s *server) post(roomID, text string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return "", errNotConnected
	}
	if len(text) > s.limit {
		return "", fmt.Errorf("post of %d bytes over the limit of %d: %w", len(text), s.limit, chat.ErrPermanent)
	}
	s.n++
	id := strconv.Itoa(s.n)
	s.ids[id] = len(s.posts[roomID])
	s.posts[roomID] = append(s.posts[roomID], text)
	return id, nil
}

func (s *server) edit(roomID, id, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.ids[id]
	if !ok {
		return fmt.Errorf("no post %s: %w", id, chat.ErrPermanent)
	}
	s.posts[roomID][i] = text
	return nil
}

func (s *server) seen(roomID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.posts[roomID]...)
}

// memAdapter is the bare adapter: post and receive, and reconnect.
type memAdapter struct {
	name   string
	server *server
}

func roomOf(name string) chat.Room {
	return chat.Room{Adapter: "", ID: "C-" + name, Name: "#" + name}
}

func (a *memAdapter) Name() string { return a.name }

func (a *memAdapter) Run(ctx context.Context, in chan<- chat.Message) error {
	for {
		msgs, closed := a.server.connect()
	connected:
		for {
			select {
			case <-ctx.Done():
				a.server.drop()
				return nil
			case <-closed:
				break connected
			case m := <-msgs:
				m.Room.Adapter, m.From.Adapter = a.name, a.name
				select {
				case in <- m:
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
}

func (a *memAdapter) Post(_ context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	id, err := a.server.post(to.ID, p.Text)
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: to, ID: id}, nil
}

func (a *memAdapter) MaxPostLen() int { return a.server.limit }

type bareMem struct{ memAdapter }

// richMem threads, edits and renders buttons, which it shows as "[Label]".
type richMem struct{ memAdapter }

func (a *richMem) Post(_ context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	id, err := a.server.post(to.ID, render(p))
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: to, ID: id}, nil
}

func (a *richMem) PostInThread(_ context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	id, err := a.server.post(parent.Room.ID, "↳ "+render(p))
	if err != nil {
		return chat.Ref{}, err
	}
	root := parent.Thread
	if root == "" {
		root = parent.ID
	}
	return chat.Ref{Room: parent.Room, ID: id, Thread: root}, nil
}

func (a *richMem) Update(_ context.Context, ref chat.Ref, p chat.Post) error {
	return a.server.edit(ref.Room.ID, ref.ID, render(p))
}

func (a *richMem) RendersButtons() bool  { return true }
func (a *richMem) FormatsMarkdown() bool { return true }

func render(p chat.Post) string {
	text := p.Text
	for _, b := range p.Buttons {
		text += " [" + b.Label + "]"
	}
	return text
}

type memHarness struct {
	adapter interface {
		chat.Adapter
		srv() *server
	}
}

func (a *memAdapter) srv() *server { return a.server }

func (h *memHarness) Adapter() chat.Adapter { return h.adapter }

func (h *memHarness) Say(t *testing.T, user, room, text string) {
	s := h.adapter.srv()
	s.mu.Lock()
	ready := s.conn != nil
	connected := s.connected
	s.mu.Unlock()
	if !ready && !strings.HasPrefix(text, "ping after drop") {
		select { // the first Say waits for the adapter to join
		case <-connected:
		case <-time.After(chattest.Timeout):
			t.Fatalf("the adapter did not connect within %s", chattest.Timeout)
		}
	}
	s.deliver(chat.Message{
		Room: roomOf(room),
		From: chat.Identity{ID: "U-" + user, Name: user},
		Text: text,
	})
}

func (h *memHarness) Seen(_ *testing.T, room string) []string {
	return h.adapter.srv().seen(roomOf(room).ID)
}

func (h *memHarness) Drop(*testing.T) bool {
	h.adapter.srv().drop()
	return true
}
