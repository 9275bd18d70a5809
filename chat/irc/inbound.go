package irc

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/lrstanley/girc"

	"github.com/opsbot/opsbot/chat"
)

// onPrivmsg delivers a channel message (Direct false: the bot decides whether
// it was addressed) or a private message (Direct true). CTCP requests and
// NOTICEs are not commands and are not delivered.
func (a *Adapter) onPrivmsg(c *girc.Client, e girc.Event) {
	if e.Source == nil || len(e.Params) < 2 || strings.HasPrefix(e.Last(), "\x01") {
		return
	}
	a.mu.Lock()
	s := a.current()
	self := s != nil && a.isSelf(s, e.Source)
	a.mu.Unlock()
	if s == nil || self {
		return
	}
	target := strings.TrimLeft(e.Params[0], "@+%~") // a STATUSMSG target like @#ops
	if !isChannel(target) {
		target = e.Params[0]
	}
	m := chat.Message{
		ID:   a.messageID(e),
		From: a.identify(c, e),
		Text: girc.StripRaw(e.Last()),
	}
	if isChannel(target) {
		m.Room = chat.Room{Adapter: Name, ID: fold(target), Name: target}
	} else {
		m.Room = chat.Room{Adapter: Name, ID: e.Source.Name, Name: e.Source.Name}
		m.Direct = true
	}
	a.inbox.push(m)
}

// messageID is the server's msgid tag (message-tags), else an ID of ours:
// IRC messages have none.
func (a *Adapter) messageID(e girc.Event) string {
	if id, ok := e.Tags.Get("msgid"); ok && id != "" {
		return "msgid:" + id
	}
	return a.ids.next("msg")
}

// identify maps the sender to an identity, trusting in turn the services
// account, the trusted masks, and else nothing but the nick (a guest): see
// the comment on masks.
func (a *Adapter) identify(c *girc.Client, e girc.Event) chat.Identity {
	nick := e.Source.Name
	id := chat.Identity{Adapter: Name, Name: nick}
	if acct, ok := e.Tags.Get("account"); ok && acct != "" && acct != "*" {
		id.ID = acct
		return id
	}
	// With account-tag, an untagged message comes from someone logged out;
	// without it, girc's tracking (extended-join, account-notify) knows.
	if !c.HasCapability("account-tag") {
		if u := c.LookupUser(nick); u != nil && u.Extras.Account != "" && (c.HasCapability("extended-join") || c.HasCapability("account-notify")) {
			id.ID = u.Extras.Account
			return id
		}
	}
	if mapped, ok := a.masks.lookup(nick, e.Source.Ident, e.Source.Host); ok {
		id.ID = mapped
		return id
	}
	id.ID = guestPrefix + nick
	return id
}

// maxQueued bounds the messages waiting for the bot to take them.
const maxQueued = 10000

// inbox decouples girc's event loop from the bot: a handler never blocks on
// the bot (which may itself be waiting for a post the event loop must
// confirm).
type inbox struct {
	log     *slog.Logger
	mu      sync.Mutex
	q       []chat.Message
	dropped int
	wake    chan struct{}
}

func newInbox(log *slog.Logger) *inbox { return &inbox{log: log, wake: make(chan struct{}, 1)} }

func (b *inbox) push(m chat.Message) {
	b.mu.Lock()
	if len(b.q) >= maxQueued {
		if b.dropped++; b.dropped%1000 == 1 {
			b.log.Error("irc: the bot is not taking messages; dropping", "queued", len(b.q), "dropped", b.dropped)
		}
	} else {
		b.q = append(b.q, m)
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// pump hands the queued messages to in, in order, until ctx ends.
func (b *inbox) pump(ctx context.Context, in chan<- chat.Message) {
	for {
		b.mu.Lock()
		q := b.q
		b.q = nil
		b.mu.Unlock()
		for _, m := range q {
			select {
			case in <- m:
			case <-ctx.Done():
				return
			}
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-b.wake:
		case <-ctx.Done():
			return
		}
	}
}
