package xmpp

import (
	"context"
	"fmt"
	"slices"

	goxmpp "github.com/xmppo/go-xmpp"

	"github.com/opsbot/opsbot/chat"
)

// iqResult is the answer to a query: the features of a disco#info result,
// or an error.
type iqResult struct {
	features []string
	err      error
}

// query sends the iq make(to, id) builds and waits for its answer.
func (a *Adapter) query(ctx context.Context, c *conn, build func(to, id string) string, to string) (iqResult, error) {
	id := newID()
	ch := make(chan iqResult, 1)
	a.mu.Lock()
	a.iqs[id] = ch
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.iqs, id)
		a.mu.Unlock()
	}()
	if err := c.send(build(to, id)); err != nil {
		return iqResult{}, err
	}
	select {
	case r := <-ch:
		return r, r.err
	case <-c.done:
		return iqResult{}, c.err
	case <-ctx.Done():
		return iqResult{}, ctx.Err()
	}
}

// handle dispatches one stanza read from c.
func (a *Adapter) handle(c *conn, st any) {
	switch v := st.(type) {
	case goxmpp.Chat:
		a.handleMessage(c, v)
	case goxmpp.Presence:
		a.handlePresence(c, v)
	case goxmpp.DiscoResult:
		a.answer(v.ID, iqResult{features: v.Features})
	case goxmpp.IQ:
		a.handleIQ(c, v)
	}
}

func (a *Adapter) answer(id string, r iqResult) {
	a.mu.Lock()
	ch := a.iqs[id]
	a.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
}

func (a *Adapter) handleIQ(c *conn, iq goxmpp.IQ) {
	switch iq.Type {
	case "result":
		a.answer(iq.ID, iqResult{})
	case "error":
		a.answer(iq.ID, iqResult{err: fmt.Errorf("xmpp: %s answered with an error", iq.From)})
	case "get", "set":
		if iq.Type == "get" && queryNamespace(iq.Query) == nsDiscoInfo {
			c.sendAsync(discoResult(iq.From, iq.ID))
			return
		}
		c.sendAsync(iqError(iq.From, iq.ID))
	}
}

func (a *Adapter) handlePresence(c *conn, p goxmpp.Presence) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.rooms[normBare(p.From)]
	if r == nil || a.conn != c {
		return
	}
	nick := resource(p.From)
	self := nick == r.nick || (p.JID != "" && p.JID == c.full)
	a.log.Debug("xmpp: presence", "from", p.From, "type", p.Type, "real", p.JID, "self", self)
	switch p.Type {
	case "error":
		if nick != r.nick || r.joined {
			return
		}
		if p.Error == "conflict" && r.tries < maxNickTries {
			r.tries++
			r.nick = nextNick(r.baseNick, r.tries)
			a.log.Info("xmpp: nick taken; trying another", "room", r.jid, "nick", r.nick)
			a.join(c, r)
			return
		}
		r.failed = roomRefusal(p.Error)
		a.log.Error("xmpp: room refused the bot", "room", r.jid, "nick", r.nick, "err", r.failed)
		a.notify()
	case "unavailable":
		if self {
			r.joined = false
			a.log.Warn("xmpp: left the room (kicked, banned or the room closed); rejoining", "room", r.jid)
			r.nick, r.tries = r.baseNick, 0
			a.join(c, r)
			a.notify()
			return
		}
		delete(r.occupants, nick)
		delete(a.peers, r.jid+"/"+nick)
	case "":
		if self {
			if !r.joined {
				a.log.Info("xmpp: joined", "room", r.jid, "nick", nick)
			}
			r.joined, r.failed, r.nick = true, nil, nick
			a.notify()
			return
		}
		occ := occupant{}
		if p.JID != "" {
			occ.real = normBare(p.JID)
		}
		if _, known := r.occupants[nick]; !known {
			delete(a.peers, r.jid+"/"+nick) // a new client behind the nick
		}
		r.occupants[nick] = occ
	}
}

func (a *Adapter) handleMessage(c *conn, m goxmpp.Chat) {
	switch m.Type {
	case "groupchat":
		a.handleGroupchat(c, m)
	case "chat", "normal", "":
		a.handleDirect(c, m)
	case "error":
		a.handleBounce(m)
	}
}

// handleBounce fails the post waiting in the room that refused a message.
func (a *Adapter) handleBounce(m goxmpp.Chat) {
	cond := "error"
	for _, e := range m.OtherElem {
		if e.XMLName.Local == "error" {
			if n := firstElement(e.InnerXML); n != "" {
				cond = n
			}
		}
	}
	err := fmt.Errorf("xmpp: %s refused the message: %s", m.Remote, cond)
	a.log.Warn("xmpp: message bounced", "from", m.Remote, "condition", cond)
	a.mu.Lock()
	defer a.mu.Unlock()
	if m.OriginID != "" && a.waiters[m.OriginID] != nil {
		a.ack(m.OriginID, err)
		return
	}
	// Without an id, the bounce is for the post under way to that address
	// (posts to one address go one at a time).
	for id, w := range a.waiters {
		if w.to == normBare(m.Remote) || w.to == m.Remote {
			a.ack(id, err)
			return
		}
	}
}

func (a *Adapter) handleGroupchat(c *conn, m goxmpp.Chat) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.rooms[normBare(m.Remote)]
	if r == nil || !r.joined || a.conn != c {
		return
	}
	nick := resource(m.Remote)
	if m.OriginID != "" && a.own.has(m.OriginID) {
		a.ack(m.OriginID, nil) // the room's echo acknowledges the post
		return
	}
	occ := r.occupants[nick]
	switch {
	case nick == "" || nick == r.nick: // the room itself (subject), or the bot's own echo
		return
	case occ.real == a.me: // another session of the bot's account (a replica)
		return
	case m.Text == "" || !m.Stamp.IsZero(): // no body, or history replayed on join
		return
	case isCorrection(m):
		return
	}
	from := chat.Identity{Adapter: Name, ID: GuestPrefix + r.jid + "/" + nick, Name: nick}
	if occ.real != "" {
		from.ID = occ.real
	}
	a.enqueueLocked(chat.Message{
		ID:   messageID(m, normBare(r.jid)),
		Room: chat.Room{Adapter: Name, ID: r.jid},
		From: from,
		Text: m.Text,
	})
}

func (a *Adapter) handleDirect(c *conn, m goxmpp.Chat) {
	a.mu.Lock()
	defer a.mu.Unlock()
	from := normBare(m.Remote)
	if a.conn != c || from == a.me || m.Text == "" || !m.Stamp.IsZero() || isCorrection(m) {
		return // our own account, no body, an offline message from before, or an edit
	}
	if r := a.rooms[from]; r != nil { // a private message from a room occupant
		nick := resource(m.Remote)
		if nick == "" {
			return
		}
		id := chat.Identity{Adapter: Name, ID: GuestPrefix + r.jid + "/" + nick, Name: nick}
		if real := r.occupants[nick].real; real != "" {
			id.ID = real
		}
		a.dmPeers[normBare(m.Remote)+"/"+nick] = m.Remote
		a.enqueueLocked(chat.Message{
			ID:     messageID(m, a.me),
			Room:   chat.Room{Adapter: Name, ID: r.jid + "/" + nick},
			From:   id,
			Text:   m.Text,
			Direct: true,
		})
		return
	}
	if resource(m.Remote) != "" {
		a.dmPeers[from] = m.Remote
	}
	a.enqueueLocked(chat.Message{
		ID:     messageID(m, a.me),
		Room:   chat.Room{Adapter: Name, ID: bare(m.Remote)},
		From:   chat.Identity{Adapter: Name, ID: from, Name: local(m.Remote)},
		Text:   m.Text,
		Direct: true,
	})
}

// enqueueLocked is enqueue for a caller holding a.mu.
func (a *Adapter) enqueueLocked(m chat.Message) {
	a.inbox = append(a.inbox, m)
	select {
	case a.inboxCh <- struct{}{}:
	default:
	}
}

// messageID is the stable id of an inbound message, the same for every
// replica of the bot: the id the archive (by) gave it (XEP-0359 stanza-id),
// else the sender's origin-id, else a fresh one.
func messageID(m goxmpp.Chat, by string) string {
	if m.StanzaID.ID != "" && normBare(m.StanzaID.By) == by {
		return "sid:" + by + ":" + m.StanzaID.ID
	}
	if m.OriginID != "" {
		return "oid:" + m.Remote + ":" + m.OriginID
	}
	return "local:" + newID()
}

// isCorrection reports whether m corrects an earlier message (XEP-0308):
// a command edited after the fact is not run again.
func isCorrection(m goxmpp.Chat) bool {
	return slices.ContainsFunc(m.OtherElem, func(e goxmpp.XMLElement) bool {
		return e.XMLName.Local == "replace" && e.XMLName.Space == nsCorrection
	})
}
