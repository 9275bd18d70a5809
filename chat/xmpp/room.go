package xmpp

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// joinTimeout is how long a join may go unanswered before it is sent again.
const joinTimeout = 30 * time.Second

// maxNickTries bounds the nicks tried after a conflict: nick_, nick_2 … nick_9.
const maxNickTries = 9

// room is a MUC room the bot is in or joins.
type room struct {
	jid       string // as configured
	baseNick  string
	password  string
	nick      string // the nick asked for or held
	tries     int    // nick conflicts met in this join
	joined    bool
	asked     time.Time           // when the last join was sent
	failed    error               // why the room refused the bot (until the next join attempt)
	occupants map[string]occupant // nick → occupant
}

// occupant is someone else in a room.
type occupant struct {
	real string // bare real JID when the room shows it, else ""
}

// errRoomRefused marks a room that refused the bot (wrong password, banned,
// members only, …): retrying before the configuration changes will not help.
var errRoomRefused = fmt.Errorf("room refused the bot: %w", chat.ErrPermanent)

// addRoom adds a room to join; a.mu must be held or a not yet shared.
func (a *Adapter) addRoom(rc RoomConfig) *room {
	nick := rc.Nick
	if nick == "" {
		nick = a.cfg.Nick
	}
	r := &room{jid: bare(rc.JID), baseNick: nick, nick: nick, password: rc.Password.Reveal(), occupants: map[string]occupant{}}
	a.rooms[normBare(rc.JID)] = r
	a.mucDomains[domain(normBare(rc.JID))] = true
	return r
}

// join asks to enter r on c; a.mu must be held.
func (a *Adapter) join(c *conn, r *room) {
	r.joined, r.failed, r.asked = false, nil, time.Now()
	r.occupants = map[string]occupant{}
	c.sendAsync(joinStanza(r.jid, r.nick, r.password))
}

// nextNick is the nick tried after the nth conflict: base_, base_2, base_3 …
func nextNick(base string, n int) string {
	if n <= 1 {
		return base + "_"
	}
	return base + "_" + strconv.Itoa(n)
}

// roomRefusal turns a presence error condition into the reason a room refused the bot.
func roomRefusal(condition string) error {
	why := map[string]string{
		"not-authorized":        "wrong or missing room password",
		"forbidden":             "the bot is banned",
		"registration-required": "the room is members-only",
		"service-unavailable":   "the room is full",
		"item-not-found":        "the room does not exist or is locked",
		"not-allowed":           "the room may not be created",
		"jid-malformed":         "the nick is not valid",
	}[condition]
	if why == "" {
		why = condition
	}
	return fmt.Errorf("%w: %s (%s)", errRoomRefused, why, condition)
}

// isRefused reports whether err is a room's refusal.
func isRefused(err error) bool { return errors.Is(err, errRoomRefused) }
