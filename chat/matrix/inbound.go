package matrix

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// messageContent is the content of an m.room.message event.
type messageContent struct {
	MsgType   string `json:"msgtype"`
	Body      string `json:"body"`
	RelatesTo *struct {
		RelType       string `json:"rel_type"`
		EventID       string `json:"event_id"`
		IsFallingBack bool   `json:"is_falling_back"`
		InReplyTo     *struct {
			EventID string `json:"event_id"`
		} `json:"m.in_reply_to"`
	} `json:"m.relates_to"`
}

// process applies a /sync answer: room state, invitations, direct rooms,
// and the messages to deliver (none from the first sync).
func (a *Adapter) process(ctx context.Context, resp *syncResponse, first bool) []chat.Message {
	for _, e := range resp.AccountData.Events {
		if e.Type == "m.direct" {
			a.directRooms(e.Content)
		}
	}
	for id, inv := range resp.Rooms.Invite {
		a.invited(ctx, id, inv.InviteState.Events)
	}
	var out []chat.Message
	for id, r := range resp.Rooms.Join {
		a.mu.Lock()
		a.room(id).joined = true
		a.mu.Unlock()
		for _, e := range r.State.Events {
			a.applyState(id, e)
		}
		if r.Timeline.Limited && !first {
			a.log.Warn("matrix: the homeserver left out part of a room's timeline (too many events since the last sync)", "room", id)
		}
		for _, e := range r.Timeline.Events {
			if e.StateKey != nil {
				a.applyState(id, e)
				continue
			}
			if first {
				continue
			}
			if m, ok := a.message(id, e); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// applyState keeps what the adapter needs of a state event.
func (a *Adapter) applyState(roomID string, e event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.room(roomID)
	switch e.Type {
	case "m.room.name":
		var c struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(e.Content, &c)
		r.name = c.Name
	case "m.room.canonical_alias":
		var c struct {
			Alias string `json:"alias"`
		}
		_ = json.Unmarshal(e.Content, &c)
		if r.alias != "" {
			delete(a.aliases, r.alias)
		}
		r.alias = c.Alias
		if c.Alias != "" {
			a.aliases[c.Alias] = roomID
		}
	case "m.room.member":
		var c struct {
			Membership  string `json:"membership"`
			DisplayName string `json:"displayname"`
			IsDirect    bool   `json:"is_direct"`
		}
		_ = json.Unmarshal(e.Content, &c)
		if e.StateKey == nil {
			return
		}
		if c.DisplayName != "" {
			r.names[*e.StateKey] = c.DisplayName
		}
		if *e.StateKey == a.cfg.UserID {
			r.joined = c.Membership == "join"
			r.direct = r.direct || c.IsDirect
		}
	}
}

// directRooms marks the rooms of the bot's m.direct account data as direct.
func (a *Adapter) directRooms(content json.RawMessage) {
	var direct map[string][]string
	if json.Unmarshal(content, &direct) != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rooms := range direct {
		for _, id := range rooms {
			a.room(id).direct = true
		}
	}
}

// invited joins a room the bot was invited to, when auto_join is on or the
// room is configured.
func (a *Adapter) invited(ctx context.Context, id string, state []event) {
	for _, e := range state {
		a.applyState(id, e)
	}
	a.mu.Lock()
	r := a.room(id)
	configured := false
	for _, c := range a.cfg.Rooms {
		configured = configured || c == id || (r.alias != "" && c == r.alias)
	}
	joined := r.joined
	a.mu.Unlock()
	if joined || (!a.cfg.AutoJoin && !configured) {
		return
	}
	if _, err := a.join(ctx, id); err != nil {
		a.log.Warn("matrix: accepting an invitation", "room", id, "err", err)
		return
	}
	a.log.Info("matrix: joined a room on invitation", "room", id)
}

// message turns a timeline event into an inbound message. Only what people
// type counts: the bot's own events, notices (bots), edits and non-text
// messages do not.
func (a *Adapter) message(roomID string, e event) (chat.Message, bool) {
	if e.Type != "m.room.message" || e.Sender == a.cfg.UserID {
		return chat.Message{}, false
	}
	var c messageContent
	if json.Unmarshal(e.Content, &c) != nil || (c.MsgType != "m.text" && c.MsgType != "m.emote") {
		return chat.Message{}, false
	}
	text := c.Body
	var thread chat.Ref
	room := a.chatRoom(roomID)
	if rel := c.RelatesTo; rel != nil {
		switch {
		case rel.RelType == "m.replace":
			return chat.Message{}, false
		case rel.RelType == "m.thread" && rel.EventID != "":
			thread = chat.Ref{Room: room, ID: rel.EventID, Thread: rel.EventID}
		}
		if rel.InReplyTo != nil && !(rel.RelType == "m.thread" && rel.IsFallingBack) {
			text = stripReplyFallback(text)
		}
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return chat.Message{}, false
	}
	a.mu.Lock()
	st := a.room(roomID)
	name := st.names[e.Sender]
	direct := st.direct
	a.mu.Unlock()
	if name == "" {
		name = strings.TrimPrefix(strings.SplitN(e.Sender, ":", 2)[0], "@")
	}
	return chat.Message{
		ID:     e.EventID,
		Room:   room,
		From:   chat.Identity{Adapter: Name, ID: e.Sender, Name: name},
		Text:   text,
		Thread: thread,
		Direct: direct,
	}, true
}

// stripReplyFallback removes the quoted lines a reply starts with ("> <@x> …"
// then an empty line), as the spec asks clients to.
func stripReplyFallback(body string) string {
	lines := strings.Split(body, "\n")
	i := 0
	for i < len(lines) && strings.HasPrefix(lines[i], ">") {
		i++
	}
	if i == 0 {
		return body
	}
	if i < len(lines) && lines[i] == "" {
		i++
	}
	return strings.Join(lines[i:], "\n")
}
