// Package slacktest is a fake Slack for tests: the Web API methods the
// adapter calls, Socket Mode, and the Events API's signed requests, kept
// close to Slack's published behaviour (docs.slack.dev: the method
// reference pages, "Using Socket Mode", "Verifying requests from Slack",
// the event and interaction payload references). It runs on slack-go's
// slacktest server, whose handlers it replaces and extends (slacktest has
// no Socket Mode envelopes, chat.update, file uploads, rate limits or
// signed HTTP delivery, and answers with shared canned data).
//
// People act with Say, Reply, DM, Edit, Slash and Click; Slack delivers
// what they do to the app over its Socket Mode connection, or, when
// EventsURL is set, as signed HTTP requests. Seen shows a channel as a
// person would see it.
package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	upstream "github.com/slack-go/slack/slacktest"
)

// The tokens and IDs of the fake workspace.
const (
	BotToken      = "xoxb-1111-2222-fakebottoken"
	AppToken      = "xapp-1-A0OPSBOT-3333-fakeapptoken"
	SigningSecret = "8f742231b10e8888abcd99yyyzzz85a5" // the one of Slack's worked example
	BotUserID     = "U0BOT0001"
	BotID         = "B0BOT0001"
	TeamID        = "T0TEAM001"
	AppID         = "A0OPSBOT1"
)

// Server is the fake Slack.
type Server struct {
	t  testing.TB
	up *upstream.Server

	mu         sync.Mutex
	users      map[string]string // ID → name
	channels   map[string]*Channel
	messages   []*Message
	ephemerals []Ephemeral
	reactions  []Reaction
	files      map[string]*File
	ts         int64
	seq        int
	calls      map[string]int
	limited    map[string][]int // method → Retry-After seconds of the next 429s
	failOpen   int
	opens      int
	conns      map[*socketConn]bool
	pending    []outbound // envelopes waiting for a connection
	acks       map[string]chan json.RawMessage
	lastEvent  *outbound
	connected  chan struct{} // closed at each hello, then renewed
	lastStatus int
	responses  map[string]*response // response_url trigger → where it answers

	// EventsURL, when set (before anything is delivered), is the base URL
	// of the app's Events API routes: Slack then POSTs signed requests to
	// EventsURL+"/events", "/interactive" and "/commands" instead of using
	// Socket Mode.
	EventsURL string
}

// Channel is a conversation.
type Channel struct {
	ID, Name  string
	Private   bool
	IM        bool   // a direct message channel with User
	User      string // for an IM
	BotMember bool
}

// Message is one message in a channel.
type Message struct {
	Channel, TS, ThreadTS, User, Text string
	Blocks                            slack.Blocks
	Attachments                       []slack.Attachment
	File                              *File
	Edited                            bool
}

// Ephemeral is a message only User sees.
type Ephemeral struct {
	Channel, User, ThreadTS, Text string
	Blocks                        slack.Blocks
	Attachments                   []slack.Attachment
}

// Reaction is an emoji on a message.
type Reaction struct{ Channel, TS, Name string }

// File is an uploaded file.
type File struct {
	ID, Name, Title string
	Content         []byte
	Channel         string
	ThreadTS        string
}

// outbound is something Slack sends the app.
type outbound struct {
	kind     string // events_api, interactive, slash_commands
	payload  json.RawMessage
	envelope string
	retry    int
	ack      chan json.RawMessage
}

// Start starts a fake Slack with the channels #ops, #dev and #random (the
// bot is a member of each) and the users alice, bob and carol; it stops
// when the test ends.
func Start(t testing.TB) *Server {
	s := &Server{
		t: t, users: map[string]string{}, channels: map[string]*Channel{}, files: map[string]*File{},
		calls: map[string]int{}, limited: map[string][]int{}, conns: map[*socketConn]bool{},
		acks: map[string]chan json.RawMessage{}, connected: make(chan struct{}), responses: map[string]*response{},
		ts: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC).UnixMicro(),
	}
	for _, n := range []string{"ops", "dev", "random"} {
		s.AddChannel(n, false)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		s.AddUser(u)
	}
	s.users[BotUserID] = "opsbot"
	routes := map[string]http.HandlerFunc{
		"/auth.test":                    s.api(s.authTest),
		"/apps.connections.open":        s.appsConnectionsOpen,
		"/chat.postMessage":             s.api(s.postMessage),
		"/chat.update":                  s.api(s.update),
		"/chat.postEphemeral":           s.api(s.postEphemeral),
		"/reactions.add":                s.api(s.reactionsAdd),
		"/users.info":                   s.api(s.usersInfo),
		"/conversations.list":           s.api(s.conversationsList),
		"/conversations.info":           s.api(s.conversationsInfo),
		"/files.getUploadURLExternal":   s.api(s.getUploadURL),
		"/files.completeUploadExternal": s.api(s.completeUpload),
		"/upload/":                      s.uploadFile,
		"/commands/":                    s.responseURL,
		"/socket":                       s.socket,
	}
	s.up = upstream.NewTestServer(func(c upstream.Customize) {
		for p, h := range routes {
			c.Handle(p, h)
		}
	})
	s.up.Start()
	t.Cleanup(s.Stop)
	return s
}

// Stop closes the connections and stops the server.
func (s *Server) Stop() {
	s.Drop()
	s.up.Stop()
}

// APIURL is the Web API base URL (the adapter's api_url).
func (s *Server) APIURL() string { return s.up.GetAPIURL() }

// AddChannel adds a channel the bot is a member of and returns its ID.
func (s *Server) AddChannel(name string, private bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := "C"
	if private {
		prefix = "G"
	}
	id := fmt.Sprintf("%s0%s%03d", prefix, strings.ToUpper(pad(name, 5)), len(s.channels)+1)
	s.channels[id] = &Channel{ID: id, Name: name, Private: private, BotMember: true}
	return id
}

// AddUser adds a person and returns their ID.
func (s *Server) AddUser(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.userIDLocked(name)
	s.users[id] = name
	return id
}

// UserID is the ID of the person named name ("alice" → "U0ALICE01").
func (s *Server) UserID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, n := range s.users {
		if n == name {
			return id
		}
	}
	return s.userIDLocked(name)
}

func (s *Server) userIDLocked(name string) string {
	return "U0" + strings.ToUpper(pad(name, 5)) + "01"
}

// ChannelID is the ID of the channel named name (without #), or "".
func (s *Server) ChannelID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelByNameLocked(strings.TrimPrefix(name, "#"))
}

func (s *Server) channelByNameLocked(name string) string {
	for id, c := range s.channels {
		if c.Name == name && !c.IM {
			return id
		}
	}
	return ""
}

// SetBotMember adds the bot to a channel or removes it (a post to a
// channel the bot is not in fails with not_in_channel).
func (s *Server) SetBotMember(channelID string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelID]; ok {
		c.BotMember = member
	}
}

// RateLimit makes the next calls of method answer 429 with these
// Retry-After values (seconds), one call each.
func (s *Server) RateLimit(method string, retryAfter ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[method] = append(s.limited[method], retryAfter...)
}

// FailConnects makes the next n apps.connections.open calls fail.
func (s *Server) FailConnects(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOpen += n
}

// Calls is how many times method was called (429s included).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Opens is how many Socket Mode connections the app asked for.
func (s *Server) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// Connected returns a channel closed at the next Socket Mode hello.
func (s *Server) Connected() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// IsConnected reports whether the app has a Socket Mode connection.
func (s *Server) IsConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns) > 0
}

// nextTS is a fresh message timestamp ("1795338000.000001"), increasing.
func (s *Server) nextTSLocked() string {
	s.ts++
	return fmt.Sprintf("%d.%06d", s.ts/1e6, s.ts%1e6)
}

func (s *Server) nextIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%08d", prefix, s.seq)
}

func pad(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	out := b.String()
	for len(out) < n {
		out += "X"
	}
	return out[:n]
}

// wsUpgrader accepts the app's Socket Mode connection.
var wsUpgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func itoa(n int) string { return strconv.Itoa(n) }
