package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
)

const (
	pageSize     = 50
	maxMsgLen    = 16 * 1024
	sseHeartbeat = 25 * time.Second
)

type roomsData struct{ Rooms []string }

func (m *Module) handleRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := m.listRooms(r.Context())
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not list rooms")
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
		return
	}
	m.pages.render(w, http.StatusOK, "rooms", view{Title: "Rooms", Session: sessionFrom(r.Context()), Nav: "rooms", Data: roomsData{rooms}})
}

func (m *Module) handleCreateRoom(w http.ResponseWriter, r *http.Request) {
	name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("name")), "#"))
	if !validRoomName(name) {
		m.fail(w, r, http.StatusBadRequest, "name: a room name is 1 to 40 of a-z, 0-9, - and _")
		return
	}
	if err := m.ensureRoom(r.Context(), name); err != nil {
		m.log.Error("create room", "err", err)
		m.fail(w, r, http.StatusInternalServerError, "could not create the room")
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"room": name})
		return
	}
	http.Redirect(w, r, "/rooms/"+name, http.StatusSeeOther)
}

// roomOf returns the request's room if it exists, else answers 404.
func (m *Module) roomOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("room")
	ok := validRoomName(name)
	if ok {
		var err error
		if ok, err = m.roomExists(r.Context(), name); err != nil {
			m.fail(w, r, http.StatusInternalServerError, "could not read the room")
			return "", false
		}
	}
	if !ok {
		m.fail(w, r, http.StatusNotFound, "no room "+name+" (create it on the rooms page)")
		return "", false
	}
	return name, true
}

type roomData struct {
	Room     string
	Rooms    []string
	Messages []messageView
	Older    int64
	Last     int64
}

func (m *Module) handleRoom(w http.ResponseWriter, r *http.Request) {
	room, ok := m.roomOf(w, r)
	if !ok {
		return
	}
	msgs, err := m.history(r.Context(), room, 0, 0, pageSize)
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not read the history")
		return
	}
	rooms, err := m.listRooms(r.Context())
	if err != nil {
		m.fail(w, r, http.StatusInternalServerError, "could not list rooms")
		return
	}
	d := roomData{Room: room, Rooms: rooms, Messages: nest(msgs)}
	if len(msgs) == pageSize {
		d.Older = msgs[0].ID
	}
	if len(msgs) > 0 {
		d.Last = msgs[len(msgs)-1].ID
	}
	m.pages.render(w, http.StatusOK, "room", view{Title: "#" + room, Session: sessionFrom(r.Context()), Nav: "rooms", Data: d})
}

// handleHistory serves GET /rooms/{room}/messages?before=ID&after=ID&limit=N (oldest first).
func (m *Module) handleHistory(w http.ResponseWriter, r *http.Request) {
	room, ok := m.roomOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var before, after int64
	limit := pageSize
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"before", &before}, {"after", &after}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": p.name + ": a message ID"})
				return
			}
			*p.dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: an integer from 1 to 500"})
			return
		}
		limit = n
	}
	msgs, err := m.history(r.Context(), room, before, after, limit)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read the history"})
		return
	}
	out := make([]wireMessage, 0, len(msgs))
	for _, msg := range msgs {
		out = append(out, m.wire(msg))
	}
	resp := map[string]any{"messages": out}
	if len(msgs) == limit && after == 0 {
		resp["next_before"] = msgs[0].ID
	}
	writeJSON(w, http.StatusOK, resp)
}

func threadParam(r *http.Request) (int64, error) {
	v := r.PostFormValue("thread")
	if v == "" || v == "0" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("thread: a message ID")
	}
	return n, nil
}

func (m *Module) handleSay(w http.ResponseWriter, r *http.Request) {
	m.said(w, r, nil)
}

func (m *Module) handleAction(w http.ResponseWriter, r *http.Request) {
	id, value := r.PostFormValue("id"), r.PostFormValue("value")
	if id == "" || value == "" {
		m.fail(w, r, http.StatusBadRequest, "id and value: the button clicked")
		return
	}
	m.said(w, r, &chat.Action{ID: id, Value: value})
}

// said posts a user's message (or button click) to the room and the bot.
func (m *Module) said(w http.ResponseWriter, r *http.Request, action *chat.Action) {
	room, ok := m.roomOf(w, r)
	if !ok {
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	if action != nil {
		text = action.Value
	}
	if text == "" || len(text) > maxMsgLen {
		m.fail(w, r, http.StatusBadRequest, "text: 1 to 16384 bytes")
		return
	}
	thread, err := threadParam(r)
	if err != nil {
		m.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if thread != 0 {
		root, err := m.messageByID(r.Context(), thread)
		if err != nil || root.Room != room {
			m.fail(w, r, http.StatusBadRequest, "thread: no such message in this room")
			return
		}
		if root.Thread != 0 {
			thread = root.Thread
		}
	}
	s := sessionFrom(r.Context())
	msg, err := m.adapter.say(r.Context(), s.User.Name, room, thread, text, action)
	if err != nil {
		m.log.Error("post message", "err", err)
		m.fail(w, r, http.StatusServiceUnavailable, "the message could not be delivered; try again")
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"id": msg.ID})
		return
	}
	http.Redirect(w, r, "/rooms/"+room, http.StatusSeeOther)
}

// handleEvents streams the room's new and edited messages (server-sent
// events). With Last-Event-ID (or ?after=ID) it first replays what was
// posted since.
func (m *Module) handleEvents(w http.ResponseWriter, r *http.Request) {
	room, ok := m.roomOf(w, r)
	if !ok {
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sub := m.hub.subscribe(room)
	defer m.hub.unsubscribe(room, sub)
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("after")
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(": connected\n\n"))
	if after, err := strconv.ParseInt(last, 10, 64); err == nil && after > 0 {
		missed, err := m.history(r.Context(), room, 0, after, 500)
		if err != nil {
			return
		}
		for _, msg := range missed {
			m.writeEvent(w, msg)
		}
	}
	fl.Flush()
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-m.done:
			return
		case <-beat.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			fl.Flush()
		case frame, ok := <-sub.ch:
			if !ok {
				return
			}
			if _, err := w.Write(frame); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

func (m *Module) writeEvent(w http.ResponseWriter, msg message) {
	frame := m.frame(msg, false)
	_, _ = w.Write(frame)
}
