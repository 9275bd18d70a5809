package discordtest

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes (Topics/Opcodes and Status Codes).
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opReconnect      = 7
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// Gateway close codes.
const (
	closeUnknownOpcode     = 4001
	closeDecodeError       = 4002
	closeNotAuthenticated  = 4003
	closeAuthFailed        = 4004
	closeAlreadyAuthed     = 4005
	closeInvalidAPIVersion = 4012
	closeInvalidIntents    = 4013
	closeDisallowedIntents = 4014
)

// maxSessions bounds the sessions kept for RESUME; maxReplay the events each keeps.
const (
	maxSessions = 8
	maxReplay   = 1000
)

// session is a gateway session: what RESUME continues.
type session struct {
	id       string
	seq      int64
	log      [][]byte // dispatches, for replay; each carries its s
	seqs     []int64
	conn     *gwConn
	intents  int
	compress bool
	created  int // order of creation
}

// gwConn is one WebSocket connection; writes go through a queue so that
// dispatching never waits for a slow client.
type gwConn struct {
	ws   *websocket.Conn
	out  chan outFrame
	once sync.Once
	done chan struct{}
	sess *session
}

type outFrame struct {
	data   []byte
	binary bool
}

// payload is a gateway payload.
type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s"`
	T  *string         `json:"t"`
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws, out: make(chan outFrame, 8192), done: make(chan struct{})}
	go c.writer()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		if c.sess != nil && c.sess.conn == c {
			c.sess.conn = nil
		}
		s.notify()
		s.mu.Unlock()
		c.stop()
		ws.Close()
	}()
	if v := q.Get("v"); v != "9" && v != "10" {
		c.closeWith(closeInvalidAPIVersion, "Invalid API version.")
		return
	}
	if q.Get("encoding") != "json" {
		c.closeWith(closeDecodeError, "Error while decoding payload.")
		return
	}
	hello, _ := json.Marshal(map[string]any{"op": opHello, "d": map[string]any{"heartbeat_interval": s.opts.HeartbeatInterval.Milliseconds()}})
	c.send(outFrame{data: hello})
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var p payload
		if err := json.Unmarshal(data, &p); err != nil {
			c.closeWith(closeDecodeError, "Error while decoding payload.")
			return
		}
		if !s.handle(c, p) {
			return
		}
	}
}

// handle answers one client payload; false ends the connection.
func (s *Server) handle(c *gwConn, p payload) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p.Op {
	case opHeartbeat:
		s.gwStats.Heartbeats++
		s.gwStats.LastHeartbeatSeq = -1
		var seq int64
		if json.Unmarshal(p.D, &seq) == nil && string(p.D) != "null" {
			s.gwStats.LastHeartbeatSeq = seq
		}
		s.notify()
		if !s.noAcks {
			c.send(outFrame{data: []byte(`{"op":11,"d":null}`)})
		}
		return true
	case opIdentify:
		var d struct {
			Token    string `json:"token"`
			Intents  *int   `json:"intents"`
			Compress bool   `json:"compress"`
		}
		if err := json.Unmarshal(p.D, &d); err != nil {
			c.closeWith(closeDecodeError, "Error while decoding payload.")
			return false
		}
		switch {
		case c.sess != nil:
			c.closeWith(closeAlreadyAuthed, "Already authenticated.")
			return false
		case d.Token != s.opts.Token && d.Token != "Bot "+s.opts.Token:
			c.closeWith(closeAuthFailed, "Authentication failed.")
			return false
		case d.Intents == nil || *d.Intents&^knownIntents != 0:
			c.closeWith(closeInvalidIntents, "Invalid intent(s).")
			return false
		case s.opts.DenyMessageContent && *d.Intents&IntentMessageContent != 0:
			c.closeWith(closeDisallowedIntents, "Disallowed intent(s).")
			return false
		}
		s.gwStats.Identifies++
		s.gwStats.Intents = *d.Intents
		sess := &session{id: s.snowflake(), intents: *d.Intents, compress: d.Compress, conn: c, created: s.gwStats.Identifies}
		s.addSession(sess)
		c.sess = sess
		s.sendDispatch(sess, "READY", map[string]any{
			"v": 10, "user": s.bot, "guilds": []map[string]any{{"id": s.guildID, "unavailable": true}},
			"session_id": sess.id, "resume_gateway_url": s.gatewayURL(), "shard": []int{0, 1},
			"application": map[string]any{"id": s.appID, "flags": 1 << 19},
		})
		if sess.intents&IntentGuilds != 0 {
			s.sendDispatch(sess, "GUILD_CREATE", s.guildCreate())
		}
		s.notify()
		return true
	case opResume:
		var d struct {
			Token     string `json:"token"`
			SessionID string `json:"session_id"`
			Seq       int64  `json:"seq"`
		}
		if err := json.Unmarshal(p.D, &d); err != nil {
			c.closeWith(closeDecodeError, "Error while decoding payload.")
			return false
		}
		if d.Token != s.opts.Token && d.Token != "Bot "+s.opts.Token {
			c.closeWith(closeAuthFailed, "Authentication failed.")
			return false
		}
		sess, ok := s.sessions[d.SessionID]
		if !ok || d.Seq > sess.seq {
			c.send(outFrame{data: []byte(`{"op":9,"d":false}`)})
			return true
		}
		s.gwStats.Resumes++
		if old := sess.conn; old != nil && old != c {
			old.closeWith(4000, "Session resumed elsewhere.")
		}
		sess.conn, c.sess = c, sess
		for i, seq := range sess.seqs {
			if seq > d.Seq {
				c.send(outFrame{data: sess.log[i], binary: sess.compress})
			}
		}
		s.sendDispatch(sess, "RESUMED", nil)
		s.notify()
		return true
	default:
		if c.sess == nil {
			c.closeWith(closeNotAuthenticated, "Not authenticated.")
		} else {
			c.closeWith(closeUnknownOpcode, "Unknown opcode.")
		}
		return false
	}
}

func (s *Server) addSession(sess *session) {
	s.sessions[sess.id] = sess
	if len(s.sessions) <= maxSessions {
		return
	}
	var oldest *session
	for _, x := range s.sessions {
		if x.conn == nil && (oldest == nil || x.created < oldest.created) {
			oldest = x
		}
	}
	if oldest != nil {
		delete(s.sessions, oldest.id)
	}
}

func (s *Server) guildCreate() map[string]any {
	var channels, threads []Channel
	for _, id := range s.chanOrder {
		switch c := s.channels[id]; c.Type {
		case ChannelGuildText:
			channels = append(channels, *c)
		case ChannelPublicThread:
			threads = append(threads, *c)
		}
	}
	return map[string]any{
		"id": s.guildID, "name": "opsbot test", "unavailable": false, "large": false, "member_count": len(s.users) + 1,
		"joined_at": time.Now().UTC().Format(time.RFC3339Nano), "channels": channels, "threads": threads,
		"members": []any{}, "roles": []any{}, "emojis": []any{}, "voice_states": []any{}, "presences": []any{},
	}
}

// dispatch sends an event to every session whose intents ask for it; s.mu must be held.
func (s *Server) dispatch(event string, d any) {
	for _, sess := range s.sessions {
		if v, ok := s.visible(sess, event, d); ok {
			s.sendDispatch(sess, event, v)
		}
	}
}

// visible is the event as sess may see it, per its intents.
func (s *Server) visible(sess *session, event string, d any) (any, bool) {
	has := func(i int) bool { return sess.intents&i != 0 }
	switch event {
	case "MESSAGE_CREATE", "MESSAGE_UPDATE":
		m := *d.(*Message)
		if m.GuildID == "" {
			return m, has(IntentDirectMessages)
		}
		if !has(IntentGuildMessages) {
			return nil, false
		}
		mentioned := false
		for _, u := range m.Mentions {
			mentioned = mentioned || u.ID == s.bot.ID
		}
		if !has(IntentMessageContent) && !mentioned && m.Author.ID != s.bot.ID {
			m.Content, m.Embeds, m.Attachments, m.Components = "", []Embed{}, []Attachment{}, []json.RawMessage{}
		}
		return m, true
	case "THREAD_CREATE":
		return d, has(IntentGuilds)
	case "MESSAGE_REACTION_ADD":
		return d, has(1 << 10) // GUILD_MESSAGE_REACTIONS
	}
	return d, true
}

// sendDispatch numbers an event for sess, logs it for replay and sends it if connected.
func (s *Server) sendDispatch(sess *session, event string, d any) {
	sess.seq++
	seq := sess.seq
	raw, _ := json.Marshal(d)
	if d == nil {
		raw = []byte("null")
	}
	data, _ := json.Marshal(payload{Op: opDispatch, D: raw, S: &seq, T: &event})
	if sess.compress {
		var b bytes.Buffer
		if s.zw == nil {
			s.zw = zlib.NewWriter(&b)
		} else {
			s.zw.Reset(&b)
		}
		_, _ = s.zw.Write(data)
		_ = s.zw.Close()
		data = b.Bytes()
	}
	sess.log = append(sess.log, data)
	sess.seqs = append(sess.seqs, seq)
	if len(sess.log) > maxReplay {
		sess.log, sess.seqs = sess.log[1:], sess.seqs[1:]
	}
	if sess.conn != nil {
		sess.conn.send(outFrame{data: data, binary: sess.compress})
	}
}

func (c *gwConn) send(f outFrame) {
	select {
	case c.out <- f:
	case <-c.done:
	default:
		c.stop() // a client this far behind is disconnected, as Discord does
		c.ws.Close()
	}
}

// closeWith sends a close frame now (WriteControl may run beside the
// writer) and stops the connection's writer.
func (c *gwConn) closeWith(code int, reason string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.stop()
}

func (c *gwConn) stop() { c.once.Do(func() { close(c.done) }) }

func (c *gwConn) writer() {
	for {
		select {
		case f := <-c.out:
			kind := websocket.TextMessage
			if f.binary {
				kind = websocket.BinaryMessage
			}
			if err := c.ws.WriteMessage(kind, f.data); err != nil {
				c.stop()
				c.ws.Close()
				return
			}
		case <-c.done:
			return
		}
	}
}

// Connected reports whether a client is connected and identified (or resumed).
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected()
}

func (s *Server) connected() bool {
	for c := range s.conns {
		if c.sess != nil && c.sess.conn == c {
			return true
		}
	}
	return false
}

// WaitConnected waits until a client is identified or resumed.
func (s *Server) WaitConnected(t testing.TB) {
	t.Helper()
	s.wait(t, "a gateway session", s.connected)
}

// WaitDisconnected waits until no client is connected.
func (s *Server) WaitDisconnected(t testing.TB) {
	t.Helper()
	s.wait(t, "the end of every gateway session", func() bool { return !s.connected() })
}

// WaitGateway waits until ok accepts the gateway statistics.
func (s *Server) WaitGateway(t testing.TB, what string, ok func(GatewayStats) bool) GatewayStats {
	t.Helper()
	var st GatewayStats
	s.wait(t, what, func() bool { st = s.gwStats; return ok(st) })
	return st
}

// Drop breaks every gateway connection without a close frame, as a network
// failure would; the sessions stay resumable.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.stop()
		c.ws.UnderlyingConn().Close()
	}
}

// Reconnect sends op 7 RECONNECT to every connection: the client should
// close and RESUME.
func (s *Server) Reconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.send(outFrame{data: []byte(`{"op":7,"d":null}`)})
	}
}

// InvalidateSessions forgets every session (a later RESUME gets op 9) and
// tells the connected clients so with op 9 INVALID_SESSION (d false).
func (s *Server) InvalidateSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sess := range s.sessions {
		if sess.conn != nil {
			sess.conn.send(outFrame{data: []byte(`{"op":9,"d":false}`)})
			sess.conn.sess = nil
		}
		delete(s.sessions, id)
	}
}

// SetHeartbeatACKs makes the server answer heartbeats (true, the default) or not.
func (s *Server) SetHeartbeatACKs(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noAcks = !on
}
