package slack

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat"
)

// process turns the acknowledged envelopes into messages for the bot, in
// the order they came, until ctx ends.
func (a *Adapter) process(ctx context.Context, in chan<- chat.Message) {
	for {
		e, ok := a.queue.pop(ctx)
		if !ok {
			return
		}
		m, ok := a.message(ctx, e)
		if !ok {
			continue
		}
		select {
		case in <- m:
		case <-ctx.Done():
			return
		}
	}
}

// message is the chat.Message an envelope stands for, if any.
func (a *Adapter) message(ctx context.Context, e envelope) (chat.Message, bool) {
	switch e.Type {
	case typeEvents:
		return a.eventMessage(ctx, e)
	case typeInteract:
		return a.clickMessage(ctx, e.Payload)
	case typeSlash:
		return a.slashMessage(ctx, e.Payload)
	}
	a.log.Debug("slack: envelope type not handled", "type", e.Type)
	return chat.Message{}, false
}

// eventCallback is an Events API callback (docs: "Events API", the
// event_callback wrapper, and the message and app_mention events).
type eventCallback struct {
	Type    string `json:"type"`
	TeamID  string `json:"team_id"`
	EventID string `json:"event_id"`
	Event   struct {
		Type        string `json:"type"`
		Subtype     string `json:"subtype"`
		Channel     string `json:"channel"`
		ChannelType string `json:"channel_type"`
		User        string `json:"user"`
		BotID       string `json:"bot_id"`
		Text        string `json:"text"`
		TS          string `json:"ts"`
		ThreadTS    string `json:"thread_ts"`
	} `json:"event"`
}

// messageSubtypes are the message subtypes that are something a person
// said; the others (edits, deletions, joins, bot messages…) are not
// commands. An edit in particular is not run again.
var messageSubtypes = map[string]bool{"": true, "thread_broadcast": true, "file_share": true}

func (a *Adapter) eventMessage(ctx context.Context, e envelope) (chat.Message, bool) {
	var cb eventCallback
	if err := json.Unmarshal(e.Payload, &cb); err != nil {
		a.log.Warn("slack: unreadable event", "err", err)
		return chat.Message{}, false
	}
	if cb.EventID != "" && !a.firstTime(ctx, "ev:"+cb.EventID) {
		a.log.Info("slack: event delivered again; handled once", "event_id", cb.EventID, "retry", e.Retry)
		return chat.Message{}, false
	}
	ev := cb.Event
	switch ev.Type {
	case "message", "app_mention":
	default:
		a.log.Debug("slack: event not handled", "type", ev.Type)
		return chat.Message{}, false
	}
	if !messageSubtypes[ev.Subtype] {
		a.log.Debug("slack: message not handled", "subtype", ev.Subtype, "channel", ev.Channel)
		return chat.Message{}, false
	}
	me := a.whoami()
	if ev.User == "" || ev.User == me.userID || (ev.BotID != "" && ev.BotID == me.botID) {
		return chat.Message{}, false
	}
	direct := ev.ChannelType == "im" || strings.HasPrefix(ev.Channel, "D")
	if !direct && !a.listens(ev.Channel) {
		return chat.Message{}, false
	}
	// A mention in a channel comes twice, as message and as app_mention,
	// with different event IDs: the message's own ID makes it once.
	id := "msg:" + ev.Channel + ":" + ev.TS
	if !a.firstTime(ctx, id) {
		return chat.Message{}, false
	}
	room := a.roomOf(ctx, ev.Channel, "", direct)
	m := chat.Message{
		ID:     id,
		Room:   room,
		From:   chat.Identity{Adapter: Name, ID: ev.User, Name: a.dir.userName(ctx, ev.User)},
		Text:   a.commandText(ctx, ev.Text),
		Direct: direct,
	}
	switch {
	case ev.ThreadTS != "" && ev.ThreadTS != ev.TS:
		m.Thread = chat.Ref{Room: room, ID: ev.ThreadTS, Thread: ev.ThreadTS}
	case !direct:
		// Replies to a command said in a channel go in a thread under it.
		m.Thread = chat.Ref{Room: room, ID: ev.TS, Thread: ev.TS}
	}
	return m, true
}

func (a *Adapter) slashMessage(ctx context.Context, payload json.RawMessage) (chat.Message, bool) {
	var sc slack.SlashCommand
	if err := json.Unmarshal(payload, &sc); err != nil {
		a.log.Warn("slack: unreadable slash command", "err", err)
		return chat.Message{}, false
	}
	text, ok := a.cfg.slashText(sc.Command, sc.Text)
	if !ok {
		a.log.Info("slack: slash command not configured", "command", sc.Command)
		return chat.Message{}, false
	}
	id := "slash:" + sc.TriggerID
	if sc.TriggerID == "" || !a.firstTime(ctx, id) {
		return chat.Message{}, false
	}
	a.dir.learnUser(sc.UserID, sc.UserName)
	if a.trustedResponseURL(sc.ResponseURL) {
		a.responses.remember(sc.ChannelID, sc.ResponseURL, a.clock.Now())
	}
	direct := strings.HasPrefix(sc.ChannelID, "D")
	name := sc.ChannelName
	if name == "directmessage" || name == "privategroup" {
		name = ""
	}
	return chat.Message{
		ID:     id,
		Room:   a.roomOf(ctx, sc.ChannelID, name, direct),
		From:   chat.Identity{Adapter: Name, ID: sc.UserID, Name: a.dir.userName(ctx, sc.UserID)},
		Text:   a.botName + " " + a.commandText(ctx, text),
		Direct: direct,
	}, true
}

func (a *Adapter) clickMessage(ctx context.Context, payload json.RawMessage) (chat.Message, bool) {
	var ic slack.InteractionCallback
	if err := json.Unmarshal(payload, &ic); err != nil {
		a.log.Warn("slack: unreadable interaction", "err", err)
		return chat.Message{}, false
	}
	if ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) == 0 {
		a.log.Debug("slack: interaction not handled", "type", ic.Type)
		return chat.Message{}, false
	}
	act := ic.ActionCallback.BlockActions[0]
	channel := ic.Container.ChannelID
	if channel == "" {
		channel = ic.Channel.ID
	}
	msgTS := ic.Container.MessageTs
	if msgTS == "" {
		msgTS = ic.Message.Timestamp
	}
	id := "click:" + channel + ":" + msgTS + ":" + act.ActionTs + ":" + ic.User.ID
	if !a.firstTime(ctx, id) {
		return chat.Message{}, false
	}
	a.dir.learnUser(ic.User.ID, ic.User.Name)
	direct := strings.HasPrefix(channel, "D")
	room := a.roomOf(ctx, channel, ic.Channel.Name, direct)
	m := chat.Message{
		ID:     id,
		Room:   room,
		From:   chat.Identity{Adapter: Name, ID: ic.User.ID, Name: a.dir.userName(ctx, ic.User.ID)},
		Text:   act.Value,
		Direct: direct,
		Action: &chat.Action{ID: act.ActionID, Value: act.Value},
	}
	thread := ic.Message.ThreadTimestamp
	if thread == "" {
		thread = ic.Container.ThreadTs
	}
	if thread != "" {
		m.Thread = chat.Ref{Room: room, ID: thread, Thread: thread}
	}
	a.clicks.add(id, click{channel: channel, messageTS: msgTS, threadTS: thread, user: ic.User.ID})
	return m, true
}

// roomOf is the room of a channel, with its name where known.
func (a *Adapter) roomOf(ctx context.Context, channel, name string, direct bool) chat.Room {
	r := chat.Room{Adapter: Name, ID: channel}
	if name != "" {
		a.dir.learnChannel(channel, name)
	} else if !direct {
		name = a.dir.channelName(ctx, channel)
	}
	if name != "" {
		r.Name = "#" + strings.TrimPrefix(name, "#")
	}
	return r
}

// firstTime records key and reports whether it is new; when the record
// can't be checked the message is handled (better twice than never).
func (a *Adapter) firstTime(ctx context.Context, key string) bool {
	first, err := a.seen.first(ctx, key, a.cfg.DedupFor)
	if err != nil {
		a.log.Warn("slack: cannot check for a redelivery; handling it", "key", key, "err", err)
		return true
	}
	return first
}

// click is where a button was clicked, to answer it there (AnswerClick).
type click struct {
	channel, messageTS, threadTS, user string
}

// clicks remembers the latest clicks by message ID.
type clicks struct {
	mu    sync.Mutex
	byID  map[string]click
	order []string
}

const maxClicks = 1024

func newClicks() *clicks { return &clicks{byID: map[string]click{}} }

func (c *clicks) add(id string, k click) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[id]; !ok {
		c.order = append(c.order, id)
	}
	c.byID[id] = k
	if len(c.order) > maxClicks {
		delete(c.byID, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *clicks) get(id string) (click, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.byID[id]
	return k, ok
}
