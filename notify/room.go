package notify

import (
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// RoomSpec is a room as written in config: an adapter (empty for the
// default adapter) and the chat's room ID or name.
type RoomSpec struct {
	Adapter string
	ID      string
}

// ParseRoom reads "adapter:room" ("slack:#ops", "shell:ops") or a room on
// the default adapter ("#ops", "ops"). A colon inside the room part is kept
// ("matrix:!abc:example.org").
func ParseRoom(s string) (RoomSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return RoomSpec{}, fmt.Errorf("empty room")
	}
	if strings.HasPrefix(s, "#") || !strings.Contains(s, ":") {
		return RoomSpec{ID: s}, nil
	}
	a, id, _ := strings.Cut(s, ":")
	if a == "" || id == "" || strings.ContainsAny(a, " #") {
		return RoomSpec{}, fmt.Errorf("%q is not adapter:room or #room", s)
	}
	return RoomSpec{Adapter: a, ID: id}, nil
}

// String is the room as written in config.
func (r RoomSpec) String() string {
	if r.Adapter == "" {
		return r.ID
	}
	return r.Adapter + ":" + r.ID
}

// Room is the chat room, on defaultAdapter when the spec names none.
func (r RoomSpec) Room(defaultAdapter string) chat.Room {
	a := r.Adapter
	if a == "" {
		a = defaultAdapter
	}
	return chat.Room{Adapter: a, ID: r.ID, Name: r.ID}
}
