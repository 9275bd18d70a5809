package xmpp_test

import (
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goxmpp "github.com/xmppo/go-xmpp"
)

const (
	nsCorrection = "urn:xmpp:message-correct:0"
	botJID       = "bot@localhost"
	wait         = 5 * time.Second
)

// person is a human's XMPP client: it joins rooms, says things, answers
// disco#info (with or without XEP-0308), and keeps what it saw, applying
// corrections as a supporting client displays them.
type person struct {
	t        testing.TB
	user     string
	corrects bool
	client   *goxmpp.Client
	done     chan struct{}

	mu        sync.Mutex
	changed   chan struct{}
	joined    map[string]bool              // room → self-presence seen
	occupants map[string]map[string]string // room → nick → real JID
	seen      map[string][]post            // room or bot JID → bot posts
	errors    map[string]string            // room → presence error condition
	iqs       map[string]bool              // ids of answered iqs
}

// post is a message from the bot as the person sees it.
type post struct {
	id, text  string
	corrected bool
}

func newPerson(t testing.TB, server, user string, corrects bool) *person {
	t.Helper()
	opts := goxmpp.Options{
		Host: server, User: user + "@localhost", Password: password, Resource: "test",
		NoTLS: true, InsecureAllowUnencryptedAuth: true,
	}
	c, err := opts.NewClient()
	if err != nil {
		t.Fatalf("%s logs in: %v", user, err)
	}
	p := &person{
		t: t, user: user, corrects: corrects, client: c, done: make(chan struct{}), changed: make(chan struct{}),
		joined: map[string]bool{}, occupants: map[string]map[string]string{}, seen: map[string][]post{},
		errors: map[string]string{}, iqs: map[string]bool{},
	}
	go p.read()
	if _, err := c.SendOrg("<presence/>"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

func (p *person) close() {
	_, _ = p.client.SendOrg("</stream:stream>")
	select {
	case <-p.done:
	case <-time.After(wait):
	}
}

func (p *person) read() {
	defer close(p.done)
	for {
		st, err := p.client.Recv()
		if err != nil {
			return
		}
		p.mu.Lock()
		switch v := st.(type) {
		case goxmpp.Presence:
			p.presence(v)
		case goxmpp.Chat:
			p.message(v)
		case goxmpp.IQ:
			p.iq(v)
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
}

func (p *person) presence(v goxmpp.Presence) {
	room, nick, _ := strings.Cut(v.From, "/")
	switch v.Type {
	case "error":
		p.errors[room] = v.Error
	case "unavailable":
		delete(p.occupants[room], nick)
	case "":
		if p.occupants[room] == nil {
			p.occupants[room] = map[string]string{}
		}
		p.occupants[room][nick] = bareOf(v.JID)
		if v.JID == p.client.JID() || nick == p.user {
			p.joined[room] = true
		}
	}
}

func (p *person) message(v goxmpp.Chat) {
	room, nick, _ := strings.Cut(v.Remote, "/")
	var key string
	switch {
	case v.Type == "groupchat" && p.occupants[room][nick] == botJID:
		key = room
	case v.Type == "chat" && bareOf(v.Remote) == botJID:
		key = botJID
	case v.Type == "chat" && nick != "" && strings.HasPrefix(nick, "opsbot"):
		key = v.Remote // a private message from the bot in a room
	default:
		return
	}
	for _, e := range v.OtherElem {
		if e.XMLName.Space == nsCorrection && e.XMLName.Local == "replace" {
			for _, a := range e.Attr {
				if a.Name.Local != "id" {
					continue
				}
				for i := range p.seen[key] {
					if p.seen[key][i].id == a.Value {
						p.seen[key][i].text, p.seen[key][i].corrected = v.Text, true
						return
					}
				}
			}
		}
	}
	p.seen[key] = append(p.seen[key], post{id: v.OriginID, text: v.Text})
}

func (p *person) iq(v goxmpp.IQ) {
	p.iqs[v.ID] = true
	if v.Type != "get" || !strings.Contains(string(v.Query), "disco#info") {
		return
	}
	features := "<feature var='http://jabber.org/protocol/disco#info'/>"
	if p.corrects {
		features += "<feature var='" + nsCorrection + "'/>"
	}
	_, _ = p.client.SendOrg(fmt.Sprintf("<iq type='result' to='%s' id='%s'><query xmlns='http://jabber.org/protocol/disco#info'>%s</query></iq>",
		xmlEsc(v.From), xmlEsc(v.ID), features))
}

// until waits for cond (called with p.mu held) to hold.
func (p *person) until(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.After(wait)
	for {
		p.mu.Lock()
		ok := cond()
		ch := p.changed
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			p.t.Fatalf("%s: %s: not within %s", p.user, what, wait)
		}
	}
}

// join enters room as the person's user name.
func (p *person) join(room string) {
	p.t.Helper()
	p.joinAs(room, p.user, "")
	p.until("join "+room, func() bool { return p.joined[room] })
}

func (p *person) joinAs(room, nick, roomPassword string) {
	p.t.Helper()
	pw := ""
	if roomPassword != "" {
		pw = "<password>" + xmlEsc(roomPassword) + "</password>"
	}
	if _, err := p.client.SendOrg(fmt.Sprintf("<presence to='%s/%s'><x xmlns='http://jabber.org/protocol/muc'>%s</x></presence>", xmlEsc(room), xmlEsc(nick), pw)); err != nil {
		p.t.Fatal(err)
	}
}

// botIn waits until the bot is in room and returns its nick.
func (p *person) botIn(room string) string {
	p.t.Helper()
	var nick string
	p.until("the bot joins "+room, func() bool {
		for n, real := range p.occupants[room] {
			if real == botJID {
				nick = n
				return true
			}
		}
		return false
	})
	return nick
}

// say sends text to a room (groupchat) or a JID (chat).
func (p *person) say(to, typ, text string) {
	p.t.Helper()
	if _, err := p.client.Send(goxmpp.Chat{Remote: to, Type: typ, Text: text}); err != nil {
		p.t.Fatalf("%s says %q: %v", p.user, text, err)
	}
}

func (p *person) posts(key string) []post {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]post(nil), p.seen[key]...)
}

func (p *person) texts(key string) []string {
	var out []string
	for _, s := range p.posts(key) {
		out = append(out, s.text)
	}
	return out
}

// sees waits until a bot post in key contains text.
func (p *person) sees(key, text string) post {
	p.t.Helper()
	var found post
	p.until(fmt.Sprintf("see %q in %s", text, key), func() bool {
		for _, s := range p.seen[key] {
			if strings.Contains(s.text, text) {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

// configureRoom submits the owner's room form with the given fields (XEP-0045 10.2).
func (p *person) configureRoom(room string, fields map[string]string) {
	p.t.Helper()
	id := fmt.Sprintf("cfg-%d", time.Now().UnixNano())
	var b strings.Builder
	b.WriteString("<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>")
	for k, v := range fields {
		b.WriteString("<field var='" + xmlEsc(k) + "'><value>" + xmlEsc(v) + "</value></field>")
	}
	stanza := fmt.Sprintf("<iq type='set' to='%s' id='%s'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>%s</x></query></iq>",
		xmlEsc(room), id, b.String())
	if _, err := p.client.SendOrg(stanza); err != nil {
		p.t.Fatal(err)
	}
	p.until("configure "+room, func() bool { return p.iqs[id] })
}

func bareOf(jid string) string {
	b, _, _ := strings.Cut(jid, "/")
	return strings.ToLower(b)
}

func xmlEsc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
