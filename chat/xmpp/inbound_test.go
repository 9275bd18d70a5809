package xmpp

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	goxmpp "github.com/xmppo/go-xmpp"

	"github.com/opsbot/opsbot/chat"
)

// recorder keeps what the adapter writes.
type recorder struct {
	mu     sync.Mutex
	writes []string
}

func (r *recorder) SendOrg(s string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, s)
	return len(s), nil
}

// newTestAdapter is an adapter on a connection that records what it writes.
func newTestAdapter(t *testing.T) (*Adapter, *conn) {
	a, err := New(Config{JID: "bot@example.org", Password: "pw", Rooms: []RoomConfig{{JID: "ops@conf.example.org"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{out: &recorder{}, full: "bot@example.org/opsbot", done: make(chan struct{}), read: make(chan struct{})}
	a.conn = c
	r := a.rooms["ops@conf.example.org"]
	r.joined = true
	r.occupants["alice"] = occupant{real: "alice@example.org"}
	r.occupants["anon"] = occupant{}
	r.occupants["opsbot2"] = occupant{real: "bot@example.org"}
	return a, c
}

func TestGroupchatFiltering(t *testing.T) {
	replace := goxmpp.XMLElement{XMLName: xmlName(nsCorrection, "replace")}
	tests := []struct {
		name string
		msg  goxmpp.Chat
		want *chat.Identity // nil: not delivered
	}{
		{"a real JID", goxmpp.Chat{Type: "groupchat", Remote: "ops@conf.example.org/alice", Text: "ping"}, &chat.Identity{Adapter: "xmpp", ID: "alice@example.org", Name: "alice"}},
		{"a hidden JID is a guest", goxmpp.Chat{Type: "groupchat", Remote: "ops@conf.example.org/anon", Text: "ping"}, &chat.Identity{Adapter: "xmpp", ID: "muc:ops@conf.example.org/anon", Name: "anon"}},
		{"history", goxmpp.Chat{Type: "groupchat", Remote: "ops@conf.example.org/alice", Text: "old", Stamp: time.Now()}, nil},
		{"own echo", goxmpp.Chat{Type: "groupchat", Remote: "ops@conf.example.org/opsbot", Text: "pong"}, nil},
		{"another session of the bot", goxmpp.Chat{Type: "groupchat", Remote: "ops@conf.example.org/opsbot2", Text: "pong"}, nil},
		{"subject", goxmpp.Chat{Type: "groupchat", Remote: "ops@conf.example.org", Subject: "topic"}, nil},
		{"no body", goxmpp.Chat{Type: "groupchat", Remote: "ops@conf.example.org/alice"}, nil},
		{"a correction", goxmpp.Chat{Type: "groupchat", Remote: "ops@conf.example.org/alice", Text: "deploy web", OtherElem: []goxmpp.XMLElement{replace}}, nil},
		{"another room", goxmpp.Chat{Type: "groupchat", Remote: "dev@conf.example.org/alice", Text: "ping"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c := newTestAdapter(t)
			a.handleMessage(c, tt.msg)
			if tt.want == nil {
				assert.Empty(t, a.inbox)
				return
			}
			if assert.Len(t, a.inbox, 1) {
				assert.Equal(t, *tt.want, a.inbox[0].From)
				assert.Equal(t, chat.Room{Adapter: "xmpp", ID: "ops@conf.example.org"}, a.inbox[0].Room)
				assert.False(t, a.inbox[0].Direct)
			}
		})
	}
}

func TestDirectFiltering(t *testing.T) {
	a, c := newTestAdapter(t)
	a.handleMessage(c, goxmpp.Chat{Type: "chat", Remote: "Bob@example.org/phone", Text: "hi"})
	a.handleMessage(c, goxmpp.Chat{Type: "chat", Remote: "bob@example.org/phone", Text: "sent while away", Stamp: time.Now()})
	a.handleMessage(c, goxmpp.Chat{Type: "chat", Remote: "bot@example.org/other", Text: "myself"})
	a.handleMessage(c, goxmpp.Chat{Type: "chat", Remote: "ops@conf.example.org/anon", Text: "psst"})
	if assert.Len(t, a.inbox, 2) {
		assert.Equal(t, chat.Message{ID: a.inbox[0].ID, Room: chat.Room{Adapter: "xmpp", ID: "Bob@example.org"},
			From: chat.Identity{Adapter: "xmpp", ID: "bob@example.org", Name: "Bob"}, Text: "hi", Direct: true}, a.inbox[0])
		assert.Equal(t, chat.Room{Adapter: "xmpp", ID: "ops@conf.example.org/anon"}, a.inbox[1].Room)
		assert.Equal(t, "muc:ops@conf.example.org/anon", a.inbox[1].From.ID)
		assert.True(t, a.inbox[1].Direct)
	}
	assert.Equal(t, "Bob@example.org/phone", a.dmPeers["bob@example.org"])
}

func TestMessageID(t *testing.T) {
	m := goxmpp.Chat{Remote: "ops@conf.example.org/alice", OriginID: "o1", StanzaID: goxmpp.StanzaID{ID: "s1", By: "ops@conf.example.org"}}
	assert.Equal(t, "sid:ops@conf.example.org:s1", messageID(m, "ops@conf.example.org"))
	m.StanzaID.By = "evil@example.org" // a stanza-id the room did not give is ignored
	assert.Equal(t, "oid:ops@conf.example.org/alice:o1", messageID(m, "ops@conf.example.org"))
	m.OriginID = ""
	assert.NotEqual(t, messageID(m, "x"), messageID(m, "x"))
}

func TestPresenceNickConflictAndRefusal(t *testing.T) {
	a, c := newTestAdapter(t)
	r := a.rooms["ops@conf.example.org"]
	r.joined = false
	a.handlePresence(c, goxmpp.Presence{From: "ops@conf.example.org/opsbot", Type: "error", Error: "conflict"})
	assert.Equal(t, "opsbot_", r.nick)
	a.handlePresence(c, goxmpp.Presence{From: "ops@conf.example.org/opsbot_", Type: "error", Error: "not-authorized"})
	assert.ErrorContains(t, r.failed, "wrong or missing room password")
	a.handlePresence(c, goxmpp.Presence{From: "ops@conf.example.org/opsbot_", Type: ""})
	assert.True(t, r.joined)
	assert.NoError(t, r.failed)
}
