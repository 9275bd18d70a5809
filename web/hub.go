package web

import (
	"bytes"
	"encoding/json"
	"sync"
)

// hub fans a room's new and edited messages out to the browsers connected
// to it (server-sent events). A browser that cannot keep up is disconnected;
// it reconnects with Last-Event-ID and catches up from the history.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{}
}

type subscriber struct {
	ch     chan []byte
	closed bool
}

const subscriberBuffer = 256

func newHub() *hub { return &hub{subs: map[string]map[*subscriber]struct{}{}} }

func (h *hub) subscribe(room string) *subscriber {
	s := &subscriber{ch: make(chan []byte, subscriberBuffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[room] == nil {
		h.subs[room] = map[*subscriber]struct{}{}
	}
	h.subs[room][s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(room string, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[room], s)
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

func (h *hub) publish(room string, frame []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[room] {
		select {
		case s.ch <- frame:
		default:
			delete(h.subs[room], s)
			s.closed = true
			close(s.ch)
		}
	}
}

// wireMessage is a message as the browser receives it (SSE data, history JSON).
type wireMessage struct {
	ID     int64  `json:"id"`
	Room   string `json:"room"`
	Thread int64  `json:"thread,omitempty"`
	Author string `json:"author"`
	Bot    bool   `json:"bot"`
	Time   string `json:"time"`
	Edited bool   `json:"edited,omitempty"`
	HTML   string `json:"html"`
	Text   string `json:"text"`
}

func (m *Module) wire(msg message) wireMessage {
	h := m.pages.messageHTML(msg)
	return wireMessage{ID: msg.ID, Room: msg.Room, Thread: msg.Thread, Author: msg.Author, Bot: msg.Bot,
		Time: msg.Created.UTC().Format("2006-01-02T15:04:05Z"), Edited: !msg.Edited.IsZero(), HTML: h, Text: visibleText(h)}
}

// push sends msg to the room's browsers.
func (m *Module) push(msg message, edit bool) {
	if m.adapter != nil {
		m.adapter.markLocal(msg)
	}
	if f := m.frame(msg, edit); f != nil {
		m.hub.publish(msg.Room, f)
	}
}

// frame is msg as an SSE frame: event "message" with the ID, or "edit".
func (m *Module) frame(msg message, edit bool) []byte {
	data, err := json.Marshal(m.wire(msg))
	if err != nil {
		m.log.Error("encode message", "err", err)
		return nil
	}
	var b bytes.Buffer
	if edit {
		b.WriteString("event: edit\n")
	} else {
		b.WriteString("event: message\nid: ")
		b.WriteString(itoa(msg.ID))
		b.WriteString("\n")
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	return b.Bytes()
}
