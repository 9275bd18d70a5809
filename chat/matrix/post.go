package matrix

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// maxThreads bounds the memory of the latest post in each thread.
const maxThreads = 4096

// Post sends p to a room (room ID, or alias).
func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	id, err := a.roomID(ctx, to.ID)
	if err != nil {
		return chat.Ref{}, err
	}
	ev, err := a.postMessage(ctx, id, p, nil)
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: a.chatRoom(id), ID: ev}, nil
}

// PostInThread posts p in the thread of parent (m.thread on parent's
// thread root, or on parent itself), as a reply to the bot's latest post in
// that thread for clients without threads.
func (a *Adapter) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	id, err := a.roomID(ctx, parent.Room.ID)
	if err != nil {
		return chat.Ref{}, err
	}
	root := parent.Thread
	if root == "" {
		root = parent.ID
	}
	a.mu.Lock()
	last := a.threads[root]
	a.mu.Unlock()
	if last == "" {
		last = parent.ID
	}
	rel := map[string]any{"rel_type": "m.thread", "event_id": root, "is_falling_back": true, "m.in_reply_to": map[string]string{"event_id": last}}
	ev, err := a.postMessage(ctx, id, p, rel)
	if err != nil {
		return chat.Ref{}, err
	}
	a.mu.Lock()
	if len(a.threads) >= maxThreads {
		clear(a.threads)
	}
	a.threads[root] = ev
	a.mu.Unlock()
	return chat.Ref{Room: a.chatRoom(id), ID: ev, Thread: root}, nil
}

// postMessage sends the message event of p (with the relation rel), then
// its image if the post carries one's data, and returns the message's event ID.
func (a *Adapter) postMessage(ctx context.Context, roomID string, p chat.Post, rel map[string]any) (string, error) {
	f := a.format(p)
	content := a.messageContent(f)
	if rel != nil {
		content["m.relates_to"] = rel
	}
	ev, err := a.send(ctx, roomID, "m.room.message", content)
	if err != nil {
		return "", err
	}
	if p.Image != nil && len(p.Image.Data) > 0 {
		name := cmpOr(p.Image.Alt, "image")
		if _, err := a.sendFile(ctx, roomID, name, p.Image.Data, rel); err != nil {
			return ev, fmt.Errorf("matrix: the post went out but its image did not: %w", err)
		}
	}
	return ev, nil
}

// messageContent is the content of an m.room.message with f's bodies. The
// HTML is left out if the event would pass the homeserver's size limit.
func (a *Adapter) messageContent(f formatted) map[string]any {
	c := map[string]any{"msgtype": a.cfg.MsgType, "body": f.body, "m.mentions": mentions(f.mentions)}
	if len(f.body)+len(f.html) < 60000 {
		c["format"], c["formatted_body"] = htmlFormat, f.html
	}
	return c
}

func mentions(users []string) map[string]any {
	if len(users) == 0 {
		return map[string]any{}
	}
	return map[string]any{"user_ids": users}
}

// Update edits a post the bot made (m.replace); clients that show no
// edits see the "* "-prefixed fallback.
func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	id, err := a.roomID(ctx, ref.Room.ID)
	if err != nil {
		return err
	}
	f := a.format(p)
	content := a.messageContent(formatted{body: "* " + f.body, html: "* " + f.html})
	content["m.new_content"] = a.messageContent(f)
	content["m.relates_to"] = map[string]any{"rel_type": "m.replace", "event_id": ref.ID}
	_, err = a.send(ctx, id, "m.room.message", content)
	return err
}

// React adds a reaction (m.annotation) to a message.
func (a *Adapter) React(ctx context.Context, ref chat.Ref, emoji string) error {
	id, err := a.roomID(ctx, ref.Room.ID)
	if err != nil {
		return err
	}
	key := reactionKey(emoji)
	if key == "" {
		return fmt.Errorf("matrix: an empty reaction: %w", chat.ErrPermanent)
	}
	_, err = a.send(ctx, id, "m.reaction", map[string]any{
		"m.relates_to": map[string]any{"rel_type": "m.annotation", "event_id": ref.ID, "key": key},
	})
	return err
}

// Upload uploads a file to the homeserver's media repository and posts it
// to the room (m.image for images, m.file otherwise).
func (a *Adapter) Upload(ctx context.Context, to chat.Room, name string, data []byte) (chat.Ref, error) {
	id, err := a.roomID(ctx, to.ID)
	if err != nil {
		return chat.Ref{}, err
	}
	ev, err := a.sendFile(ctx, id, name, data, nil)
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: a.chatRoom(id), ID: ev}, nil
}

func (a *Adapter) sendFile(ctx context.Context, roomID, name string, data []byte, rel map[string]any) (string, error) {
	ctype := http.DetectContentType(data)
	var up struct {
		ContentURI string `json:"content_uri"`
	}
	uctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	err := a.call(uctx, request{
		method: "POST", path: "/_matrix/media/v3/upload", query: url.Values{"filename": {name}},
		body: data, ctype: ctype, auth: true,
	}, &up)
	if err != nil {
		return "", fmt.Errorf("matrix: upload %s: %w", name, err)
	}
	msgtype := "m.file"
	if strings.HasPrefix(ctype, "image/") {
		msgtype = "m.image"
	}
	content := map[string]any{
		"msgtype": msgtype, "body": name, "filename": name, "url": up.ContentURI,
		"info": map[string]any{"mimetype": ctype, "size": len(data)}, "m.mentions": map[string]any{},
	}
	if rel != nil {
		content["m.relates_to"] = rel
	}
	return a.send(ctx, roomID, "m.room.message", content)
}

// send sends an event to a room and returns its ID. A room the bot is not
// in is joined, once, and the event sent again.
func (a *Adapter) send(ctx context.Context, roomID, typ string, content map[string]any) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	txn := a.newTxnID()
	var out struct {
		EventID string `json:"event_id"`
	}
	r := request{method: "PUT", path: path("/_matrix/client/v3/rooms/", roomID, "/send/", typ, "/", txn), body: content, auth: true}
	err := a.call(ctx, r, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.ErrCode == "M_FORBIDDEN" && !a.joined(roomID) {
		if _, jerr := a.join(ctx, roomID); jerr == nil {
			err = a.call(ctx, r, &out)
		}
	}
	if err != nil {
		return "", fmt.Errorf("matrix: send %s to %s: %w", typ, roomID, err)
	}
	return out.EventID, nil
}

func (a *Adapter) joined(roomID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.rooms[roomID]
	return ok && r.joined
}

// roomID resolves a room ID or alias.
func (a *Adapter) roomID(ctx context.Context, room string) (string, error) {
	switch {
	case validID(room, '!'):
		return room, nil
	case validID(room, '#'):
	default:
		return "", fmt.Errorf("matrix: room %q is neither a room ID (!abc:example.org) nor an alias (#ops:example.org): %w", room, chat.ErrPermanent)
	}
	a.mu.Lock()
	id, ok := a.aliases[room]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	var out struct {
		RoomID string `json:"room_id"`
	}
	if err := a.call(ctx, request{method: "GET", path: path("/_matrix/client/v3/directory/room/", room), auth: true}, &out); err != nil {
		return "", fmt.Errorf("matrix: resolve %s: %w", room, err)
	}
	a.mu.Lock()
	a.aliases[room] = out.RoomID
	a.mu.Unlock()
	return out.RoomID, nil
}
