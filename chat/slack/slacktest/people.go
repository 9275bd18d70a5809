package slacktest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// What people do, delivered to the app as Slack would: the payloads follow
// the event references (message, app_mention, message_changed), the
// event_callback wrapper, the slash command request and the block_actions
// payload (testdata/PROVENANCE.md in chat/slack names the sources).

// Say makes user say text in channel (a name or an ID) and returns the
// message's ts. A text mentioning the bot also comes as an app_mention
// event, as it does for an app subscribed to both.
func (s *Server) Say(user, channel, text string) (string, error) {
	return s.say(user, channel, "", text)
}

// Reply makes user reply in the thread of message thread.
func (s *Server) Reply(user, channel, thread, text string) (string, error) {
	return s.say(user, channel, thread, text)
}

// DM makes user send text to the bot in a direct message.
func (s *Server) DM(user, text string) (string, error) {
	s.mu.Lock()
	c := s.imLocked(s.userIDLocked(user))
	s.mu.Unlock()
	return s.say(user, c.ID, "", text)
}

func (s *Server) say(user, channel, thread, text string) (string, error) {
	s.mu.Lock()
	c, code := s.resolveChannelLocked(channel)
	if code != "" {
		s.mu.Unlock()
		return "", fmt.Errorf("slacktest: say in %s: %s", channel, code)
	}
	uid := s.userIDLocked(user)
	m := &Message{Channel: c.ID, TS: s.nextTSLocked(), ThreadTS: thread, User: uid, Text: text}
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	ev := map[string]any{"type": "message", "channel": c.ID, "user": uid, "text": text, "ts": m.TS, "event_ts": m.TS,
		"channel_type": channelType(c)}
	if thread != "" {
		ev["thread_ts"] = thread
	}
	if _, err := s.deliverEvent(ev); err != nil {
		return m.TS, err
	}
	if !c.IM && strings.Contains(text, "<@"+BotUserID+">") {
		mention := map[string]any{"type": "app_mention", "user": uid, "text": text, "ts": m.TS, "channel": c.ID, "event_ts": m.TS}
		if thread != "" {
			mention["thread_ts"] = thread
		}
		if _, err := s.deliverEvent(mention); err != nil {
			return m.TS, err
		}
	}
	return m.TS, nil
}

func channelType(c *Channel) string {
	switch {
	case c.IM:
		return "im"
	case c.Private:
		return "group"
	}
	return "channel"
}

// Edit makes user change the text of their message ts (a message_changed event).
func (s *Server) Edit(user, channel, ts, text string) error {
	s.mu.Lock()
	c, code := s.resolveChannelLocked(channel)
	if code != "" {
		s.mu.Unlock()
		return fmt.Errorf("slacktest: edit in %s: %s", channel, code)
	}
	m := s.findLocked(c.ID, ts)
	if m == nil {
		s.mu.Unlock()
		return fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	old := m.Text
	m.Text, m.Edited = text, true
	now := s.nextTSLocked()
	uid := m.User
	s.mu.Unlock()
	_, err := s.deliverEvent(map[string]any{"type": "message", "subtype": "message_changed", "hidden": true, "channel": c.ID,
		"ts": now, "event_ts": now, "channel_type": channelType(c),
		"message":          map[string]any{"type": "message", "user": uid, "text": text, "ts": ts, "edited": map[string]any{"user": uid, "ts": now}},
		"previous_message": map[string]any{"type": "message", "user": uid, "text": old, "ts": ts}})
	return err
}

// deliverEvent wraps an event in an event_callback and delivers it; it
// returns the callback (to deliver it again with Redeliver).
func (s *Server) deliverEvent(ev map[string]any) (json.RawMessage, error) {
	s.mu.Lock()
	id := s.nextIDLocked("Ev")
	s.mu.Unlock()
	cb, _ := json.Marshal(map[string]any{"token": "XXYYZZ", "team_id": TeamID, "api_app_id": AppID, "event": ev,
		"type": "event_callback", "event_id": id, "event_time": 1795338000,
		"authorizations": []map[string]any{{"team_id": TeamID, "user_id": BotUserID, "is_bot": true, "is_enterprise_install": false}}})
	o := outbound{kind: "events_api", payload: cb}
	s.mu.Lock()
	s.lastEvent = &o
	s.mu.Unlock()
	_, err := s.deliver(o)
	return cb, err
}

// Redeliver delivers the last event again, as Slack retries an event it
// thinks the app did not acknowledge (same event_id, retry_attempt 1, or
// the X-Slack-Retry-Num header over HTTP).
func (s *Server) Redeliver() error {
	s.mu.Lock()
	if s.lastEvent == nil {
		s.mu.Unlock()
		return fmt.Errorf("slacktest: no event to redeliver")
	}
	o := *s.lastEvent
	s.mu.Unlock()
	o.retry++
	_, err := s.deliver(o)
	return err
}

// Slash makes user run a slash command in channel and returns Slack's view
// of the app's immediate answer (the ack payload, or the response body).
func (s *Server) Slash(user, channel, command, text string) (json.RawMessage, error) {
	s.mu.Lock()
	c, code := s.resolveChannelLocked(channel)
	if code != "" {
		s.mu.Unlock()
		return nil, fmt.Errorf("slacktest: slash in %s: %s", channel, code)
	}
	uid := s.userIDLocked(user)
	name := c.Name
	if c.IM {
		name = "directmessage"
	}
	trigger := s.nextIDLocked("13345224609.738474920.")
	s.responses[trigger] = &response{channel: c.ID, user: uid}
	s.mu.Unlock()
	p, _ := json.Marshal(map[string]any{"token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": TeamID, "team_domain": "opsbot-test",
		"channel_id": c.ID, "channel_name": name, "user_id": uid, "user_name": user, "command": command, "text": text,
		"api_app_id": AppID, "is_enterprise_install": "false",
		"response_url": s.APIURL() + "commands/" + TeamID + "/" + trigger, "trigger_id": trigger})
	return s.deliver(outbound{kind: "slash_commands", payload: p})
}

// Click makes user click the button actionID on the bot's message ts.
func (s *Server) Click(user, channel, ts, actionID string) error {
	s.mu.Lock()
	c, code := s.resolveChannelLocked(channel)
	if code != "" {
		s.mu.Unlock()
		return fmt.Errorf("slacktest: click in %s: %s", channel, code)
	}
	m := s.findLocked(c.ID, ts)
	if m == nil {
		s.mu.Unlock()
		return fmt.Errorf("slacktest: no message %s in %s", ts, channel)
	}
	btn, blockID := findButton(allBlocks(m), actionID)
	if btn == nil {
		s.mu.Unlock()
		return fmt.Errorf("slacktest: message %s has no button %q", ts, actionID)
	}
	uid := s.userIDLocked(user)
	actionTS := s.nextTSLocked()
	trigger := s.nextIDLocked("701933630.")
	msg := map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "ts": m.TS, "text": m.Text,
		"blocks": m.Blocks, "attachments": m.Attachments}
	container := map[string]any{"type": "message", "message_ts": m.TS, "channel_id": c.ID, "is_ephemeral": false}
	if m.ThreadTS != "" {
		msg["thread_ts"] = m.ThreadTS
		container["thread_ts"] = m.ThreadTS
	}
	s.mu.Unlock()
	action := map[string]any{"action_id": btn.ActionID, "block_id": blockID, "text": btn.Text, "value": btn.Value,
		"type": "button", "action_ts": actionTS}
	if btn.Style != "" {
		action["style"] = btn.Style
	}
	p, _ := json.Marshal(map[string]any{"type": "block_actions",
		"user":       map[string]any{"id": uid, "username": user, "name": user, "team_id": TeamID},
		"api_app_id": AppID, "token": "XXYYZZ", "container": container, "trigger_id": trigger,
		"team":       map[string]any{"id": TeamID, "domain": "opsbot-test"},
		"enterprise": nil, "is_enterprise_install": false,
		"channel": map[string]any{"id": c.ID, "name": c.Name},
		"message": msg, "state": map[string]any{"values": map[string]any{}},
		"response_url": s.APIURL() + "actions/" + TeamID + "/" + trigger,
		"actions":      []any{action}})
	_, err := s.deliver(outbound{kind: "interactive", payload: p})
	return err
}

func allBlocks(m *Message) []slack.Block {
	out := append([]slack.Block(nil), m.Blocks.BlockSet...)
	for _, a := range m.Attachments {
		out = append(out, a.Blocks.BlockSet...)
	}
	return out
}

func findButton(blocks []slack.Block, actionID string) (*slack.ButtonBlockElement, string) {
	for _, b := range blocks {
		ab, ok := b.(*slack.ActionBlock)
		if !ok || ab.Elements == nil {
			continue
		}
		for _, e := range ab.Elements.ElementSet {
			if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == actionID {
				return btn, ab.BlockID
			}
		}
	}
	return nil, ""
}
