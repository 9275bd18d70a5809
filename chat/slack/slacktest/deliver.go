package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	opslack "github.com/opsbot/opsbot/chat/slack"
)

// AckTimeout is how long Slack waits for the app to acknowledge (3 s).
const AckTimeout = 3 * time.Second

type socketConn struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func (c *socketConn) write(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c.WriteJSON(v)
}

// socket is the Socket Mode WebSocket: hello, then envelopes; the app's
// acks come back on it.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	conn, err := wsUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	sc := &socketConn{c: conn}
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID}}
	if sc.write(hello) != nil {
		_ = conn.Close()
		return
	}
	s.mu.Lock()
	s.conns[sc] = true
	close(s.connected)
	s.connected = make(chan struct{})
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, o := range pending {
		s.send(sc, o)
	}
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := conn.ReadJSON(&ack); err != nil {
			break
		}
		s.acked(ack.EnvelopeID, ack.Payload)
	}
	s.mu.Lock()
	delete(s.conns, sc)
	s.mu.Unlock()
	_ = conn.Close()
}

func (s *Server) acked(envelope string, payload json.RawMessage) {
	s.mu.Lock()
	ch, ok := s.acks[envelope]
	delete(s.acks, envelope)
	s.mu.Unlock()
	if ok {
		if payload == nil {
			payload = json.RawMessage("{}")
		}
		ch <- payload
	}
}

// Drop closes the Socket Mode connections, as a network failure would.
func (s *Server) Drop() {
	s.mu.Lock()
	conns := s.conns
	s.conns = map[*socketConn]bool{}
	s.mu.Unlock()
	for c := range conns {
		_ = c.c.Close()
	}
}

// Disconnect sends Slack's "disconnect" message (reason refresh_requested)
// on every connection: the app should connect again at once.
func (s *Server) Disconnect() {
	s.mu.Lock()
	var conns []*socketConn
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.write(map[string]any{"type": "disconnect", "reason": "refresh_requested",
			"debug_info": map[string]any{"host": "applink-fake"}})
	}
}

// deliver sends o to the app and returns its acknowledgement (the ack's
// payload, or the HTTP response body), or an error when the app did not
// acknowledge within AckTimeout. Over Socket Mode, an envelope sent while
// the app has no connection waits for the next one.
func (s *Server) deliver(o outbound) (json.RawMessage, error) {
	if s.EventsURL != "" {
		return s.post(o)
	}
	s.mu.Lock()
	o.envelope = fmt.Sprintf("%08x-4d35-4d0b-b6aa-%012d", s.seq+1, s.seq+1)
	s.seq++
	o.ack = make(chan json.RawMessage, 1)
	s.acks[o.envelope] = o.ack
	var conn *socketConn
	for c := range s.conns {
		conn = c
		break
	}
	if conn == nil {
		s.pending = append(s.pending, o)
	}
	s.mu.Unlock()
	if conn != nil {
		s.send(conn, o)
	}
	select {
	case p := <-o.ack:
		return p, nil
	case <-time.After(AckTimeout):
		return nil, fmt.Errorf("slacktest: envelope %s (%s) not acknowledged within %s", o.envelope, o.kind, AckTimeout)
	}
}

func (s *Server) send(c *socketConn, o outbound) {
	env := map[string]any{"envelope_id": o.envelope, "payload": o.payload, "type": o.kind,
		"accepts_response_payload": o.kind == "slash_commands", "retry_attempt": o.retry, "retry_reason": ""}
	if o.retry > 0 {
		env["retry_reason"] = "timeout"
	}
	if err := c.write(env); err != nil {
		s.mu.Lock()
		s.pending = append(s.pending, o)
		s.mu.Unlock()
	}
}

// LastStatus is the HTTP status of the last request delivered over the
// Events API.
func (s *Server) LastStatus() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastStatus
}

// post delivers o as Slack's signed HTTP request to the app's routes.
func (s *Server) post(o outbound) (json.RawMessage, error) {
	var path, ctype string
	var body []byte
	switch o.kind {
	case "events_api":
		path, ctype, body = "/events", "application/json", o.payload
	case "interactive":
		path, ctype = "/interactive", "application/x-www-form-urlencoded"
		body = []byte(url.Values{"payload": {string(o.payload)}}.Encode())
	case "slash_commands":
		path, ctype = "/commands", "application/x-www-form-urlencoded"
		var fields map[string]any
		_ = json.Unmarshal(o.payload, &fields)
		form := url.Values{}
		for k, v := range fields {
			form.Set(k, fmt.Sprint(v))
		}
		body = []byte(form.Encode())
	}
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(s.EventsURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", opslack.Sign([]byte(SigningSecret), ts, body))
	if o.retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(o.retry))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	client := &http.Client{Timeout: AckTimeout}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("slacktest: deliver %s: %w", o.kind, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	s.mu.Lock()
	s.lastStatus = resp.StatusCode
	s.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("slacktest: deliver %s: HTTP %d: %s", o.kind, resp.StatusCode, bytes.TrimSpace(out))
	}
	return out, nil
}
