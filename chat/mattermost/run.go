package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opsbot/opsbot/chat"
)

// Run connects the WebSocket and delivers inbound messages (and button
// clicks) until ctx ends, reconnecting with backoff whenever the connection
// breaks. It resumes the event sequence of the last connection, so events
// the server kept for it are not lost. It returns early only on a permanent
// error (the token was refused).
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.deliver(ctx, in)
	var res resume
	for attempt := 0; ; {
		up, err := a.session(ctx, &res)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, chat.ErrPermanent) {
			a.log.Error("mattermost: giving up", "err", err)
			return err
		}
		if up {
			attempt = 0
		}
		attempt++
		wait := backoff(attempt, a.cfg.ReconnectMin, a.cfg.ReconnectMax)
		a.log.Warn("mattermost: connection lost; reconnecting", "err", err, "in", wait)
		select {
		case <-a.clock.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// deliver passes queued messages to in until ctx ends.
func (a *Adapter) deliver(ctx context.Context, in chan<- chat.Message) {
	for {
		select {
		case m := <-a.inbound:
			select {
			case in <- m:
			case <-ctx.Done():
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// enqueue queues an inbound message; it waits while the queue is full.
func (a *Adapter) enqueue(ctx context.Context, m chat.Message) error {
	select {
	case a.inbound <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the wait before the nth attempt in a row: min doubled each
// time up to max, less up to a fifth at random so that replicas spread out.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = time.Duration(float64(min(d, hi)) * (1 - rand.Float64()/5))
	return max(lo, d)
}

// maxFrame bounds one WebSocket frame (an event carries at most one post
// of 16383 characters, with its props and metadata).
const maxFrame = 4 << 20

// resume is where a new connection takes up the event stream of the last:
// its connection ID and the next sequence number expected.
type resume struct {
	connID string
	next   int64
}

// session runs one WebSocket connection until it breaks or ctx ends; up
// says whether it got as far as the server's hello.
func (a *Adapter) session(ctx context.Context, res *resume) (up bool, err error) {
	me, err := a.botUser(ctx)
	if err != nil {
		return false, err
	}
	if len(a.cfg.Channels) > 0 {
		if err := a.joinChannels(ctx, me); err != nil {
			a.log.Warn("mattermost: joining channels", "err", err)
		}
	}
	conn, err := a.dial(ctx, res)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	conn.SetReadLimit(maxFrame)
	stop := context.AfterFunc(ctx, func() {
		deadline := time.Now().Add(time.Second)
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
		_ = conn.SetReadDeadline(deadline)
	})
	defer stop()

	alive := func() error {
		return conn.SetReadDeadline(time.Now().Add(a.cfg.PingInterval + a.cfg.PingTimeout))
	}
	_ = alive()
	conn.SetPongHandler(func(string) error { return alive() })
	conn.SetPingHandler(func(data string) error {
		_ = alive()
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(a.cfg.PingTimeout))
	})
	pingDone := make(chan struct{})
	defer close(pingDone)
	go func() {
		t := time.NewTicker(a.cfg.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(a.cfg.PingTimeout)); err != nil {
					return
				}
			case <-pingDone:
				return
			}
		}
	}()

	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return up, ctx.Err()
			}
			return up, fmt.Errorf("mattermost: websocket: %w", err)
		}
		_ = alive()
		var ev wsEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			a.log.Warn("mattermost: unreadable websocket frame", "err", err)
			continue
		}
		if ev.Event == "" { // a reply to an action of ours
			continue
		}
		if ev.Event == "hello" {
			var h helloData
			_ = json.Unmarshal(ev.Data, &h)
			if h.ConnectionID != res.connID {
				a.log.Info("mattermost: connected", "server_version", h.ServerVersion, "resumed", false)
				res.connID, res.next = h.ConnectionID, 0
			} else {
				a.log.Info("mattermost: connected", "server_version", h.ServerVersion, "resumed", true)
			}
			up = true
		}
		if ev.Seq >= res.next {
			res.next = ev.Seq + 1
		}
		if ev.Event == "posted" {
			if m, ok := a.posted(ev, me); ok {
				if err := a.enqueue(ctx, m); err != nil {
					return up, err
				}
			}
		}
	}
}

// dial opens the WebSocket, authenticated by the token in the upgrade
// request, resuming res's connection when there is one.
func (a *Adapter) dial(ctx context.Context, res *resume) (*websocket.Conn, error) {
	u, err := url.Parse(a.cfg.URL + "/api/v4/websocket")
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	if res.connID != "" {
		q := url.Values{"connection_id": {res.connID}, "sequence_number": {strconv.FormatInt(res.next, 10)}}
		u.RawQuery = q.Encode()
	}
	d := websocket.Dialer{HandshakeTimeout: a.cfg.RequestTimeout, Proxy: http.ProxyFromEnvironment}
	if t, ok := a.http.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		d.TLSClientConfig = t.TLSClientConfig.Clone()
	}
	hdr := http.Header{"Authorization": {"Bearer " + a.cfg.Token.Reveal()}}
	conn, resp, err := d.DialContext(ctx, u.String(), hdr)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("mattermost: websocket: %w: the token was refused (HTTP 401)", chat.ErrPermanent)
		}
		return nil, fmt.Errorf("mattermost: websocket: %w", err)
	}
	return conn, nil
}

// posted turns a "posted" event into a message for the bot, unless the bot
// posted it or it is a system message.
func (a *Adapter) posted(ev wsEvent, me user) (chat.Message, bool) {
	var d postedData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		a.log.Warn("mattermost: unreadable posted event", "err", err)
		return chat.Message{}, false
	}
	var p post
	if err := json.Unmarshal([]byte(d.Post), &p); err != nil {
		a.log.Warn("mattermost: unreadable post in posted event", "err", err)
		return chat.Message{}, false
	}
	if p.UserID == "" || p.UserID == me.ID || p.Type != "" {
		return chat.Message{}, false
	}
	room := chat.Room{Adapter: Name, ID: p.ChannelID, Name: d.ChannelName}
	text := strings.TrimSpace(p.Message)
	command := stripMention(text, me.Username)
	m := chat.Message{
		ID:   p.ID,
		Room: room,
		From: chat.Identity{Adapter: Name, ID: p.UserID, Name: strings.TrimPrefix(d.SenderName, "@")},
		Text: command,
		// A message that starts with the bot's @mention is addressed to it, as
		// a direct message is (the bot's account name may not be its name in opsbot).
		Direct: d.ChannelType == "D" || command != text,
	}
	if p.RootID != "" {
		m.Thread = chat.Ref{Room: room, ID: p.RootID, Thread: p.RootID}
	}
	return m, true
}

// stripMention removes a leading "@bot" (with an optional ":" or ","), so
// "@opsbot deploy api" is the command "deploy api".
func stripMention(text, username string) string {
	t := strings.TrimSpace(text)
	if username == "" {
		return t
	}
	at := "@" + username
	if len(t) >= len(at) && strings.EqualFold(t[:len(at)], at) {
		rest := t[len(at):]
		if rest == "" || strings.ContainsAny(rest[:1], " :,\n\t") {
			return strings.TrimSpace(strings.TrimLeft(rest, ":,"))
		}
	}
	return t
}
