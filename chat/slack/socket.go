package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode (docs: "Using Socket Mode"): apps.connections.open, called
// with the app-level token, returns a WebSocket URL; Slack says "hello" on
// it, then sends envelopes ({"envelope_id", "type", "payload",
// "retry_attempt"…}) that the app acknowledges with {"envelope_id"} (and a
// "payload" for a slash command's response); a "disconnect" message asks
// the app to connect again. Slack pings the connection; a silent one is dead.

// socketMessage is anything Slack sends on the socket.
type socketMessage struct {
	Type                   string          `json:"type"`
	EnvelopeID             string          `json:"envelope_id"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	Reason                 string          `json:"reason"`
}

// socketAck acknowledges an envelope.
type socketAck struct {
	EnvelopeID string `json:"envelope_id"`
	Payload    any    `json:"payload,omitempty"`
}

// slashAck is the response to a slash command: shown in the channel, it
// makes the command itself visible there (without it only its author sees
// it); the command's results follow as the bot's posts.
var slashAck = map[string]string{"response_type": "in_channel"}

// runSocket connects and reconnects until ctx ends: at once when Slack
// asks for it, else with backoff (reconnect_min doubling up to
// reconnect_max, back to reconnect_min after a connection Slack greeted).
func (a *Adapter) runSocket(ctx context.Context) error {
	backoff := a.cfg.ReconnectMin
	for attempt := 1; ; attempt++ {
		greeted, err := a.connectOnce(ctx)
		a.connected.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if isAuthError(err) {
			return fmt.Errorf("slack: apps.connections.open: the app token was refused: %w", err)
		}
		var again errReconnect
		if errors.As(err, &again) {
			a.log.Info("slack: Slack asked to reconnect", "reason", again.reason)
			backoff = a.cfg.ReconnectMin
			continue
		}
		if greeted {
			backoff = a.cfg.ReconnectMin
		}
		a.log.Warn("slack: Socket Mode connection lost", "attempt", attempt, "err", err, "retry_in", backoff.String())
		select {
		case <-a.clock.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		if !greeted {
			backoff = min(backoff*2, a.cfg.ReconnectMax)
		}
	}
}

// errReconnect is Slack's "disconnect" message: connect again now.
type errReconnect struct{ reason string }

func (e errReconnect) Error() string { return "slack asked to reconnect: " + e.reason }

// connectOnce opens one connection and reads it until it ends; greeted
// tells whether Slack said hello on it.
func (a *Adapter) connectOnce(ctx context.Context) (greeted bool, err error) {
	if err := a.limits.wait(ctx, "apps.connections.open"); err != nil {
		return false, err
	}
	_, url, err := a.api.StartSocketModeContext(ctx)
	if err != nil {
		return false, a.classify("apps.connections.open", err)
	}
	dialer := websocket.Dialer{HandshakeTimeout: 20 * time.Second, Proxy: websocket.DefaultDialer.Proxy}
	conn, resp, err := dialer.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return false, fmt.Errorf("slack: socket mode dial: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer conn.Close()

	var wmu sync.Mutex
	extend := func() { _ = conn.SetReadDeadline(time.Now().Add(a.cfg.PingTimeout)) }
	extend()
	conn.SetPingHandler(func(data string) error {
		extend()
		wmu.Lock()
		defer wmu.Unlock()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return greeted, fmt.Errorf("slack: socket mode read: %w", err)
		}
		extend()
		var sm socketMessage
		if err := json.Unmarshal(data, &sm); err != nil {
			a.log.Warn("slack: unreadable socket message", "err", err)
			continue
		}
		switch sm.Type {
		case "hello":
			greeted = true
			a.connected.Store(true)
			a.log.Info("slack: Socket Mode connected")
		case "disconnect":
			return greeted, errReconnect{reason: sm.Reason}
		case typeEvents, typeInteract, typeSlash:
			ack := socketAck{EnvelopeID: sm.EnvelopeID}
			if sm.Type == typeSlash {
				ack.Payload = slashAck
			}
			wmu.Lock()
			err := conn.WriteJSON(ack)
			wmu.Unlock()
			if err != nil {
				return greeted, fmt.Errorf("slack: socket mode ack: %w", err)
			}
			a.queue.push(envelope{Type: sm.Type, Payload: sm.Payload, Retry: sm.RetryAttempt})
		default:
			a.log.Debug("slack: socket message not handled", "type", sm.Type)
		}
	}
}
