package xmpp_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/xmpp"
	"github.com/opsbot/opsbot/config"
)

// botConfig is the adapter's config for server, quick to reconnect.
func botConfig(server string, rooms ...xmpp.RoomConfig) xmpp.Config {
	return xmpp.Config{
		JID: botJID, Password: config.Secret(password), Server: server, TLS: xmpp.TLSPlain,
		Resource: "test" + strconv.Itoa(int(resources.Add(1))), // sessions of earlier tests never collide
		Rooms:    rooms, SendTimeout: 10 * time.Second,
		PingInterval: time.Second, PingTimeout: 3 * time.Second, // no false alarm on a loaded machine
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
	}
}

var resources atomic.Int64

// running is an adapter whose Run goes on until the test ends.
type running struct {
	a      *xmpp.Adapter
	sender *chat.Sender
	in     chan chat.Message
	ctx    context.Context
}

func run(t *testing.T, cfg xmpp.Config, log *slog.Logger) *running {
	t.Helper()
	a, err := xmpp.New(cfg, log)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{a: a, sender: chat.NewSender(a), in: make(chan chat.Message, 64), ctx: ctx}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, r.in) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(wait):
			t.Errorf("Run did not return within %s", wait)
		}
	})
	return r
}

// receive waits for a message with text.
func (r *running) receive(t *testing.T, text string) chat.Message {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-r.in:
			if m.Text == text {
				return m
			}
			t.Logf("skipping %q from %s", m.Text, m.From.Key())
		case <-deadline:
			t.Fatalf("%q did not arrive within %s", text, wait)
		}
	}
}

// nothing checks that no message arrives for a while (the one place a test waits on time).
func (r *running) nothing(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-r.in:
		t.Errorf("unexpected message %q from %s", m.Text, m.From.Key())
	case <-time.After(d):
	}
}

// harness runs the shared suite: the bot through a proxy (Drop cuts it),
// alice watching every room, alice and bob saying things.
type harness struct {
	srv    *prosody
	proxy  *proxy
	rooms  map[string]string
	people map[string]*person
	mu     sync.Mutex
}

func (h *harness) Adapter() chat.Adapter {
	cfg := botConfig(h.proxy.addr())
	for _, jid := range h.rooms {
		cfg.Rooms = append(cfg.Rooms, xmpp.RoomConfig{JID: jid})
	}
	a, err := xmpp.New(cfg, nil)
	if err != nil {
		panic(err)
	}
	return a
}

func (h *harness) person(t *testing.T, user string) *person {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.people[user]
	if p == nil {
		p = newPerson(t, h.srv.addr(), user, true)
		h.people[user] = p
	}
	return p
}

func (h *harness) Say(t *testing.T, user, room, text string) {
	p := h.person(t, user)
	jid := h.rooms[room]
	p.mu.Lock()
	in := p.joined[jid]
	p.mu.Unlock()
	if !in {
		p.join(jid)
	}
	p.botIn(jid)
	p.say(jid, "groupchat", text)
}

func (h *harness) Seen(t *testing.T, room string) []string {
	return h.person(t, "alice").texts(h.rooms[room])
}

func (h *harness) Drop(t *testing.T) bool {
	h.proxy.cut()
	return true
}

func TestSuite(t *testing.T) {
	srv := sharedProsody(t)
	chattest.Run(t, func(t *testing.T) chattest.Harness {
		h := &harness{
			srv: srv, proxy: newProxy(t, srv.addr()), people: map[string]*person{},
			rooms: map[string]string{"ops": uniqueRoom("ops", "conference.localhost"), "dev": uniqueRoom("dev", "conference.localhost")},
		}
		alice := h.person(t, "alice")
		for _, jid := range h.rooms {
			alice.join(jid) // alice creates the rooms and watches them
		}
		return h
	})
}

func TestInboundIdentityAndHistory(t *testing.T) {
	srv := sharedProsody(t)
	ops := uniqueRoom("ops", "conference.localhost")
	alice := newPerson(t, srv.addr(), "alice", true)
	alice.join(ops)
	alice.say(ops, "groupchat", "said before the bot came") // room history

	r := run(t, botConfig(srv.addr(), xmpp.RoomConfig{JID: ops}), nil)
	alice.botIn(ops)
	alice.say(ops, "groupchat", "ping")
	m := r.receive(t, "ping")
	assert.Equal(t, chat.Room{Adapter: "xmpp", ID: ops}, m.Room)
	assert.Equal(t, chat.Identity{Adapter: "xmpp", ID: "alice@localhost", Name: "alice"}, m.From, "a non-anonymous room shows the real JID")
	assert.False(t, m.Direct)
	assert.True(t, strings.HasPrefix(m.ID, "oid:"), "id %q comes from the sender's origin-id", m.ID)

	_, err := r.sender.Post(r.ctx, m.Room, chat.Post{Text: "pong"})
	require.NoError(t, err)
	alice.sees(ops, "pong")
	alice.say(ops, "groupchat", "after pong")
	r.receive(t, "after pong") // the bot's own "pong" never came back as a message
}

func TestAnonymousRoomGivesGuestIdentity(t *testing.T) {
	srv := sharedProsody(t)
	room := uniqueRoom("anon", "anon.localhost")
	alice := newPerson(t, srv.addr(), "alice", true)
	alice.join(room)
	r := run(t, botConfig(srv.addr(), xmpp.RoomConfig{JID: room}), nil)
	waitBotIn(t, alice, room)
	alice.say(room, "groupchat", "who am i")
	m := r.receive(t, "who am i")
	assert.Equal(t, "muc:"+room+"/alice", m.From.ID, "a nick-only identity is a guest's")
	assert.Equal(t, "alice", m.From.Name)
}

// waitBotIn waits for the bot's nick in a room that hides real JIDs.
func waitBotIn(t *testing.T, p *person, room string) {
	t.Helper()
	p.until("the bot joins "+room, func() bool { _, ok := p.occupants[room]["opsbot"]; return ok })
}

func TestDirectMessages(t *testing.T) {
	srv := sharedProsody(t)
	bob := newPerson(t, srv.addr(), "bob", true)
	r := run(t, botConfig(srv.addr()), nil)
	deadline := time.Now().Add(wait)
	var m chat.Message
	for i := 0; ; i++ { // until the bot is online
		bob.say(botJID, "chat", "whoami")
		select {
		case m = <-r.in:
		case <-time.After(100 * time.Millisecond):
			require.True(t, time.Now().Before(deadline), "no direct message arrived")
			continue
		}
		break
	}
	assert.True(t, m.Direct)
	assert.Equal(t, chat.Room{Adapter: "xmpp", ID: "bob@localhost"}, m.Room)
	assert.Equal(t, "bob@localhost", m.From.ID)
	ref, err := r.sender.Post(r.ctx, m.Room, chat.Post{Text: "you are bob"})
	require.NoError(t, err)
	bob.sees(botJID, "you are bob")

	_, err = r.sender.Update(r.ctx, ref, chat.Post{Text: "you are bob, a guest"})
	require.NoError(t, err)
	bob.until("the correction", func() bool {
		s := bob.seen[botJID]
		return len(s) == 1 && s[0].corrected && s[0].text == "you are bob, a guest"
	})
}

func TestPasswordProtectedRoom(t *testing.T) {
	srv := sharedProsody(t)
	room := uniqueRoom("secret", "conference.localhost")
	alice := newPerson(t, srv.addr(), "alice", true)
	alice.join(room)
	alice.configureRoom(room, map[string]string{"muc#roomconfig_passwordprotectedroom": "1", "muc#roomconfig_roomsecret": "door"})

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := run(t, botConfig(srv.addr(), xmpp.RoomConfig{JID: room, Password: "door"}), log)
	alice.botIn(room)
	_, err := r.sender.Post(r.ctx, chat.Room{Adapter: "xmpp", ID: room}, chat.Post{Text: "in with the password"})
	require.NoError(t, err)
	alice.sees(room, "in with the password")

	wrong := run(t, func() xmpp.Config {
		c := botConfig(srv.addr(), xmpp.RoomConfig{JID: room, Nick: "opsbot2", Password: "wrong-door"})
		c.Resource = "second"
		return c
	}(), log)
	_, err = wrong.a.Post(wrong.ctx, chat.Room{Adapter: "xmpp", ID: room}, chat.Post{Text: "never"})
	require.ErrorIs(t, err, chat.ErrPermanent)
	assert.Contains(t, err.Error(), "wrong or missing room password")
	for _, secret := range []string{password, "door", "wrong-door"} {
		assert.NotContains(t, logs.String(), secret, "a password was logged")
	}
}

func TestNickConflict(t *testing.T) {
	srv := sharedProsody(t)
	room := uniqueRoom("ops", "conference.localhost")
	carol := newPerson(t, srv.addr(), "carol", true)
	carol.joinAs(room, "opsbot", "") // carol holds the bot's nick
	carol.until("join", func() bool { return carol.joined[room] })

	r := run(t, botConfig(srv.addr(), xmpp.RoomConfig{JID: room}), nil)
	nick := carol.botIn(room)
	assert.Equal(t, "opsbot_", nick)
	_, err := r.sender.Post(r.ctx, chat.Room{Adapter: "xmpp", ID: room}, chat.Post{Text: "hello as opsbot_"})
	require.NoError(t, err)
	carol.sees(room, "hello as opsbot_")
	carol.say(room, "groupchat", "opsbot: ping") // carol (nick opsbot) is not the bot
	m := r.receive(t, "opsbot: ping")
	assert.Equal(t, "carol@localhost", m.From.ID)
}

func TestCorrection(t *testing.T) {
	srv := sharedProsody(t)
	room := uniqueRoom("ops", "conference.localhost")
	alice := newPerson(t, srv.addr(), "alice", true)
	alice.join(room)
	r := run(t, botConfig(srv.addr(), xmpp.RoomConfig{JID: room}), nil)
	alice.botIn(room)
	to := chat.Room{Adapter: "xmpp", ID: room}

	ref, err := r.sender.Post(r.ctx, to, chat.Post{Text: "deploying api: 0%"})
	require.NoError(t, err)
	for _, pct := range []string{"50%", "100%"} {
		_, err := r.sender.Update(r.ctx, ref, chat.Post{Text: "deploying api: " + pct})
		require.NoError(t, err)
	}
	alice.until("one corrected post", func() bool {
		s := alice.seen[room]
		return len(s) == 1 && s[0].corrected && s[0].text == "deploying api: 100%"
	})

	// bob's client does not support corrections: the edit becomes a new post.
	bob := newPerson(t, srv.addr(), "bob", false)
	bob.join(room)
	bob.say(room, "groupchat", "hi")
	r.receive(t, "hi") // the bot has seen bob come in
	_, err = r.sender.Update(r.ctx, ref, chat.Post{Text: "deploying api: done"})
	require.NoError(t, err)
	alice.sees(room, "deploying api: done")
	assert.Equal(t, []string{"deploying api: 100%", "deploying api: done"}, alice.texts(room))
	bob.leave(room)
	alice.until("bob left", func() bool { _, in := alice.occupants[room]["bob"]; return !in })
	alice.say(room, "groupchat", "bob has gone")
	r.receive(t, "bob has gone") // the room told the bot of bob's leaving before this

	// Later updates of the same ref correct the post that stands for it.
	_, err = r.sender.Update(r.ctx, ref, chat.Post{Text: "deployed api"})
	require.NoError(t, err)
	alice.until("the new post corrected", func() bool {
		s := alice.seen[room]
		return len(s) == 2 && s[1].text == "deployed api" && s[1].corrected
	})

	// An older post is not the last message: no correction.
	_, err = r.sender.Post(r.ctx, to, chat.Post{Text: "something else"})
	require.NoError(t, err)
	_, err = r.sender.Update(r.ctx, ref, chat.Post{Text: "deployed api (again)"})
	require.NoError(t, err)
	alice.sees(room, "deployed api (again)")
	assert.Len(t, alice.posts(room), 4)
}

func TestSeverityAndButtonsArePlainText(t *testing.T) {
	srv := sharedProsody(t)
	room := uniqueRoom("ops", "conference.localhost")
	alice := newPerson(t, srv.addr(), "alice", true)
	alice.join(room)
	r := run(t, botConfig(srv.addr(), xmpp.RoomConfig{JID: room}), nil)
	alice.botIn(room)
	_, err := r.sender.Post(r.ctx, chat.Room{Adapter: "xmpp", ID: room}, chat.Post{
		Text: "*db01* is down", Severity: chat.SeverityCritical, ThreadKey: "incident #7",
		Fields:   []chat.Field{{Name: "host", Value: "db01"}},
		Buttons:  []chat.Button{{ID: "ack", Label: "Acknowledge", Value: "ack 7"}},
		Mentions: []string{"alice@localhost"},
	})
	require.NoError(t, err)
	got := alice.sees(room, "db01 is down")
	assert.Equal(t, "alice: [incident #7] [CRITICAL] db01 is down\nhost: db01\n1. Acknowledge — reply with the number", got.text)
}

func TestReconnectAfterProsodyRestart(t *testing.T) {
	srv := startProsody(t)
	room := uniqueRoom("ops", "conference.localhost")
	r := run(t, botConfig(srv.addr(), xmpp.RoomConfig{JID: room}), nil)
	alice := newPerson(t, srv.addr(), "alice", true)
	alice.join(room)
	alice.botIn(room)

	srv.kill()
	posted := make(chan error, 1)
	go func() { // posted while the server is down: delivered once the bot is back
		_, err := r.sender.Post(r.ctx, chat.Room{Adapter: "xmpp", ID: room}, chat.Post{Text: "posted while down"})
		posted <- err
	}()
	require.NoError(t, srv.start())
	alice = newPerson(t, srv.addr(), "alice", true)
	alice.join(room)
	alice.botIn(room)
	select {
	case err := <-posted:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("the post made while prosody was down did not complete")
	}
	alice.say(room, "groupchat", "back?")
	r.receive(t, "back?")
	_, err := r.sender.Post(r.ctx, chat.Room{Adapter: "xmpp", ID: room}, chat.Post{Text: "back"})
	require.NoError(t, err)
	alice.sees(room, "back")
}

func TestDeadConnectionFoundByPing(t *testing.T) {
	srv := sharedProsody(t)
	room := uniqueRoom("ops", "conference.localhost")
	px := newProxy(t, srv.addr())
	cfg := botConfig(px.addr(), xmpp.RoomConfig{JID: room})
	cfg.PingInterval, cfg.PingTimeout = 200*time.Millisecond, 500*time.Millisecond
	r := run(t, cfg, nil)
	alice := newPerson(t, srv.addr(), "alice", true)
	alice.join(room)
	alice.botIn(room)
	r.receiveAfter(t, alice, room, "before")

	px.freeze() // nothing passes any more, and nothing tells the bot
	r.receiveAfter(t, alice, room, "after")
	_, err := r.sender.Post(r.ctx, chat.Room{Adapter: "xmpp", ID: room}, chat.Post{Text: "alive again"})
	require.NoError(t, err)
	alice.sees(room, "alive again")
}

// receiveAfter has p say text in room until the bot receives it (messages
// to a dead connection are lost).
func (r *running) receiveAfter(t *testing.T, p *person, room, text string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		p.say(room, "groupchat", text)
		select {
		case m := <-r.in:
			if m.Text == text {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "%q never arrived", text)
	}
}

func (p *person) leave(room string) {
	p.t.Helper()
	if _, err := p.client.SendOrg("<presence type='unavailable' to='" + xmlEsc(room+"/"+p.user) + "'/>"); err != nil {
		p.t.Fatal(err)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
