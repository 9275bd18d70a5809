package xmpp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// discoTimeout bounds how long an edit waits for the readers to say whether
// they support corrections.
const discoTimeout = 3 * time.Second

// maxPeers bounds the cache of which clients support corrections.
const maxPeers = 4096

// waiter waits for the acknowledgement of one message: the room's echo of
// it, a bounce, or (for a direct message) the server's answer to a ping
// sent after it.
type waiter struct {
	to string // the address it went to, normalised
	ch chan error
}

// ack resolves the waiter of id; a.mu must be held.
func (a *Adapter) ack(id string, err error) {
	if w := a.waiters[id]; w != nil {
		w.ch <- err
		delete(a.waiters, id)
	}
}

// target is where a chat.Room's posts go.
type target struct {
	to    string // the address
	typ   string // groupchat or chat
	room  *room  // for groupchat
	key   string // the room, normalised: where "last message" is tracked
	guest bool   // a room occupant's private chat
}

// resolve decides how to reach room: a room the bot is in (or one on the
// MUC service of a configured room, joined now) gets groupchat; an
// occupant's address ("room@service/nick") and any other JID get chat.
func (a *Adapter) resolve(room chat.Room) (target, error) {
	if room.Adapter != "" && room.Adapter != Name {
		return target{}, fmt.Errorf("xmpp: room %s is not an xmpp room: %w", room, chat.ErrPermanent)
	}
	jid := room.ID
	if !validBareJID(bare(jid)) && domain(jid) == "" {
		return target{}, fmt.Errorf("xmpp: %q is not a JID: %w", jid, chat.ErrPermanent)
	}
	key := normBare(jid)
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.rooms[key]
	if resource(jid) != "" {
		if r != nil {
			return target{to: bare(jid) + "/" + resource(jid), typ: "chat", key: key + "/" + resource(jid), guest: true}, nil
		}
		return target{to: jid, typ: "chat", key: key}, nil
	}
	if r == nil && a.mucDomains[domain(key)] {
		r = a.addRoom(RoomConfig{JID: jid})
		a.log.Info("xmpp: joining a room to post in it", "room", r.jid)
		if a.conn != nil {
			a.join(a.conn, r)
		}
	}
	if r != nil {
		return target{to: r.jid, typ: "groupchat", room: r, key: key}, nil
	}
	return target{to: bare(jid), typ: "chat", key: key}, nil
}

// Post sends p.Text (rendered plain by the chat.Sender) to room. It waits
// for the connection, and for a room, for the bot to be in it; it returns
// once the room echoed the message (for a direct message: once the server
// has it). The Ref's ID is the message's stanza id.
func (a *Adapter) Post(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	t, err := a.resolve(room)
	if err != nil {
		return chat.Ref{}, err
	}
	id, err := a.send(ctx, t, p, "")
	if err != nil {
		return chat.Ref{}, fmt.Errorf("xmpp: post to %s: %w", t.to, err)
	}
	return chat.Ref{Room: chat.Room{Adapter: Name, ID: room.ID, Name: room.Name}, ID: id}, nil
}

// Update edits a post with a correction (XEP-0308) when it is the bot's last
// message there and every reader's client supports corrections (asked with
// disco#info); otherwise it posts the new text as a new message, which
// later updates of ref then correct.
func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	t, err := a.resolve(ref.Room)
	if err != nil {
		return err
	}
	a.mu.Lock()
	current := a.alias.get(ref.ID)
	last := a.lastSent[t.key] == current
	a.mu.Unlock()
	if last && a.canCorrect(ctx, t) {
		if _, err := a.send(ctx, t, p, current); err != nil {
			return fmt.Errorf("xmpp: correct %s in %s: %w", current, t.to, err)
		}
		return nil
	}
	id, err := a.send(ctx, t, p, "")
	if err != nil {
		return fmt.Errorf("xmpp: update %s in %s: %w", ref.ID, t.to, err)
	}
	a.mu.Lock()
	a.alias.set(ref.ID, id)
	a.mu.Unlock()
	return nil
}

// send sends one message to t (a correction of replaces when set) and
// waits for its acknowledgement; it returns the message's id. The text is
// made once the bot is in the room (mentions need its occupants). When the
// connection dies before the acknowledgement, the message is sent again on
// the next connection, within the send timeout: a duplicate is possible
// (the room had it but its echo was lost), a loss is not.
func (a *Adapter) send(ctx context.Context, t target, p chat.Post, replaces string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.SendTimeout)
	defer cancel()
	unlock, err := a.lockTarget(ctx, t.key)
	if err != nil {
		return "", err
	}
	defer unlock()
	for {
		c, err := a.ready(ctx, t)
		if err != nil {
			return "", err
		}
		id, err := a.sendOn(ctx, c, t, a.withMentions(t, p), replaces)
		if err == nil || !c.dead() || ctx.Err() != nil {
			return id, err
		}
		a.log.Debug("xmpp: connection lost before the acknowledgement; sending again", "to", t.to)
	}
}

// ready waits for a live connection and, for a room, for the bot to be in it.
func (a *Adapter) ready(ctx context.Context, t target) (*conn, error) {
	var c *conn
	err := a.waitFor(ctx, func() (bool, error) {
		c = a.conn
		if c == nil || c.dead() {
			return false, nil
		}
		if t.room != nil {
			if t.room.failed != nil {
				return false, t.room.failed
			}
			return t.room.joined, nil
		}
		return true, nil
	})
	if err != nil && ctx.Err() != nil && (c == nil || c.dead()) {
		return nil, fmt.Errorf("%w: %w", errNotConnected, err)
	}
	return c, err
}

// sendOn sends one message on c and waits for its acknowledgement.
func (a *Adapter) sendOn(ctx context.Context, c *conn, t target, text, replaces string) (string, error) {
	id := newID()
	w := &waiter{to: normBare(t.to), ch: make(chan error, 1)}
	if t.typ == "chat" && resource(t.to) != "" {
		w.to = t.to
	}
	a.mu.Lock()
	a.own.add(id)
	a.waiters[id] = w
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.waiters, id)
		a.mu.Unlock()
	}()
	if err := c.send(messageStanza(t.to, t.typ, id, text, replaces)); err != nil {
		return "", err
	}
	if t.typ == "chat" {
		// No echo for a direct message: the server answering a ping sent
		// after it has received it (a stream is processed in order).
		go func() {
			_, err := a.query(ctx, c, pingStanza, domain(a.cfg.JID))
			a.mu.Lock()
			a.ack(id, err)
			a.mu.Unlock()
		}()
	}
	select {
	case err := <-w.ch:
		if err != nil {
			return "", err
		}
	case <-c.done:
		return "", c.err
	case <-ctx.Done():
		return "", fmt.Errorf("no acknowledgement: %w", ctx.Err())
	}
	if replaces == "" {
		a.mu.Lock()
		a.lastSent[t.key] = id
		a.mu.Unlock()
	}
	return id, nil
}

// lockTarget lets one message at a time go to an address, so that a bounce
// without an id is the current one's and order is kept.
func (a *Adapter) lockTarget(ctx context.Context, key string) (func(), error) {
	a.mu.Lock()
	sem, ok := a.postLocks[key]
	if !ok {
		sem = make(chan struct{}, 1)
		a.postLocks[key] = sem
	}
	a.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// canCorrect reports whether every reader of t supports corrections: the
// other occupants of a room, or the client last heard from in a direct chat.
func (a *Adapter) canCorrect(ctx context.Context, t target) bool {
	a.mu.Lock()
	c := a.conn
	var readers []string
	switch {
	case t.room != nil:
		for nick, occ := range t.room.occupants {
			if occ.real != a.me {
				readers = append(readers, t.room.jid+"/"+nick)
			}
		}
	case t.guest:
		readers = []string{t.to}
	default:
		if full := a.dmPeers[t.key]; full != "" {
			readers = []string{full}
		}
	}
	a.mu.Unlock()
	if c == nil || (t.room == nil && len(readers) == 0) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, discoTimeout)
	defer cancel()
	for _, jid := range readers {
		if !a.supportsCorrection(ctx, c, jid) {
			return false
		}
	}
	return true
}

// supportsCorrection asks jid's client (once; the answer is kept while the
// client stays) whether it supports XEP-0308.
func (a *Adapter) supportsCorrection(ctx context.Context, c *conn, jid string) bool {
	a.mu.Lock()
	ok, known := a.peers[jid]
	a.mu.Unlock()
	if known {
		return ok
	}
	r, err := a.query(ctx, c, discoStanza, jid)
	if err != nil && ctx.Err() != nil {
		return false // no answer in time: don't cache, ask again next time
	}
	ok = err == nil && slices.Contains(r.features, nsCorrection)
	a.mu.Lock()
	if len(a.peers) >= maxPeers {
		clear(a.peers) // resources come and go: start the cache afresh
	}
	a.peers[jid] = ok
	a.mu.Unlock()
	return ok
}

// withMentions prefixes the text with the nicks of the mentioned users
// present in the room ("alice, bob: …"), as XMPP clients highlight them.
func (a *Adapter) withMentions(t target, p chat.Post) string {
	if t.room == nil || len(p.Mentions) == 0 {
		return p.Text
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var nicks []string
	for _, id := range p.Mentions {
		if rest, ok := strings.CutPrefix(id, GuestPrefix); ok {
			if normBare(rest) == normBare(t.room.jid) {
				nicks = append(nicks, resource(rest))
			}
			continue
		}
		for nick, occ := range t.room.occupants {
			if occ.real == normBare(id) {
				nicks = append(nicks, nick)
				break
			}
		}
	}
	if len(nicks) == 0 {
		return p.Text
	}
	return strings.Join(nicks, ", ") + ": " + p.Text
}
