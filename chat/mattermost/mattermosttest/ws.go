package mattermosttest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// keptEvents is how many events a connection keeps for resumption.
const keptEvents = 128

// wsConn is one WebSocket connection ID: its live socket (nil while the
// client is away), its sequence and the events it keeps for resumption.
type wsConn struct {
	id     string
	userID string
	ws     *websocket.Conn
	out    chan []byte // frames for the live socket, in order
	seq    int64
	kept   [][]byte // the last keptEvents frames, oldest first
	first  int64    // seq of kept[0]
}

type event struct {
	Event     string         `json:"event"`
	Data      map[string]any `json:"data"`
	Broadcast map[string]any `json:"broadcast"`
	Seq       int64          `json:"seq"`
}

// websocket upgrades an authenticated request; connection_id and
// sequence_number resume an earlier connection when its events since are
// still kept, else a new connection begins.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	u, ok := s.session(w, r)
	if !ok {
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	c := s.conns[r.URL.Query().Get("connection_id")]
	from, err := strconv.ParseInt(r.URL.Query().Get("sequence_number"), 10, 64)
	resumed := c != nil && c.userID == u.ID && c.ws == nil && err == nil && from >= c.first && from <= c.seq
	if !resumed {
		c = &wsConn{id: NewID(), userID: u.ID}
		s.conns[c.id] = c
		from = 0
	}
	c.ws = ws
	c.out = make(chan []byte, 4096)
	hello := c.frame(event{Event: "hello", Data: map[string]any{"connection_id": c.id, "server_version": "10.5.0.0.0.fake"},
		Broadcast: map[string]any{"user_id": u.ID}})
	c.out <- hello
	if resumed { // the events since from, then the new ones
		for _, f := range c.kept[from-c.first : len(c.kept)-1] {
			c.out <- f
		}
	}
	go writeLoop(ws, c.out)
	s.mu.Unlock()
	go s.readLoop(c, ws)
}

// readLoop reads the client's frames (answering pings) until the socket breaks.
func (s *Server) readLoop(c *wsConn, ws *websocket.Conn) {
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	ws.Close()
	s.mu.Lock()
	if c.ws == ws {
		close(c.out)
		c.ws, c.out = nil, nil
	}
	s.mu.Unlock()
}

// writeLoop writes frames to a socket in order until out is closed.
func writeLoop(ws *websocket.Conn, out chan []byte) {
	for f := range out {
		_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if ws.WriteMessage(websocket.TextMessage, f) != nil {
			ws.Close()
		}
	}
}

// frame numbers ev with the connection's next seq, keeps it and returns it; s.mu is held.
func (c *wsConn) frame(ev event) []byte {
	ev.Seq = c.seq
	c.seq++
	b, _ := json.Marshal(ev)
	c.kept = append(c.kept, b)
	if len(c.kept) > keptEvents {
		c.kept = c.kept[1:]
	}
	c.first = c.seq - int64(len(c.kept))
	return b
}

// broadcast sends an event to every connection of a member of ch; s.mu is held.
func (s *Server) broadcast(ch *Channel, name string, data map[string]any) {
	for _, c := range s.conns {
		if !ch.members[c.userID] {
			continue
		}
		f := c.frame(event{Event: name, Data: data, Broadcast: map[string]any{"channel_id": ch.ID, "user_id": "", "team_id": ""}})
		if c.out != nil {
			select {
			case c.out <- f:
			default: // a client this far behind is dropped, as the real server does
				c.ws.Close()
			}
		}
	}
}

// broadcastPosted sends the posted event of p by u in ch; s.mu is held.
func (s *Server) broadcastPosted(ch *Channel, u *User, p Post) {
	s.broadcast(ch, "posted", map[string]any{
		"channel_display_name": ch.DisplayName,
		"channel_name":         ch.Name,
		"channel_type":         ch.Type,
		"post":                 mustJSON(p),
		"sender_name":          "@" + u.Username,
		"set_online":           true,
		"team_id":              ch.TeamID,
	})
}
