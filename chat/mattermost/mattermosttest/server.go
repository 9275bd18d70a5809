// Package mattermosttest is a fake Mattermost server for tests: the parts
// of API v4 the adapter uses, following Mattermost's published API
// reference — bearer-token auth, users/me, teams and channels by name,
// channel membership, posts (threads by root_id, patch), reactions, file
// uploads (multipart), the WebSocket with its hello and posted events,
// sequence numbers and resumption by connection_id/sequence_number,
// X-Ratelimit-* headers and 429 with Retry-After, and interactive message
// actions (a click POSTs the clicker and the action's context to its
// integration URL, and the answer may update the post).
package mattermosttest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Server is a fake Mattermost server on loopback.
type Server struct {
	URL string

	srv *httptest.Server
	api http.Handler

	mu        sync.Mutex
	users     map[string]*User // by ID
	tokens    map[string]string
	teams     map[string]*Team
	channels  map[string]*Channel
	posts     map[string]*Post
	order     []string // post IDs in creation order
	reactions []Reaction
	files     map[string]File
	conns     map[string]*wsConn // by connection ID
	throttled int                // requests still to refuse with 429
	retry     int                // their Retry-After, seconds
	requests  int                // REST requests served
}

// User is an account.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	IsBot    bool   `json:"is_bot"`
	Token    string `json:"-"`
}

// Team is a team.
type Team struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Channel is a channel and its members.
type Channel struct {
	ID          string `json:"id"`
	TeamID      string `json:"team_id"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	members     map[string]bool
}

// Post is a post as the server stores it.
type Post struct {
	ID        string         `json:"id"`
	CreateAt  int64          `json:"create_at"`
	UpdateAt  int64          `json:"update_at"`
	EditAt    int64          `json:"edit_at"`
	DeleteAt  int64          `json:"delete_at"`
	UserID    string         `json:"user_id"`
	ChannelID string         `json:"channel_id"`
	RootID    string         `json:"root_id"`
	Message   string         `json:"message"`
	Type      string         `json:"type"`
	Props     map[string]any `json:"props"`
	FileIDs   []string       `json:"file_ids,omitempty"`
}

// Reaction is an emoji on a post.
type Reaction struct {
	UserID    string `json:"user_id"`
	PostID    string `json:"post_id"`
	EmojiName string `json:"emoji_name"`
	CreateAt  int64  `json:"create_at"`
}

// File is an uploaded file.
type File struct {
	ID, Name, ChannelID string
	Data                []byte
}

// New starts a fake server, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		users: map[string]*User{}, tokens: map[string]string{}, teams: map[string]*Team{},
		channels: map[string]*Channel{}, posts: map[string]*Post{}, files: map[string]File{},
		conns: map[string]*wsConn{},
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.DropConnections()
		s.srv.Close()
	})
	return s
}

// NewID is a Mattermost-style ID: 26 characters of [a-z0-9].
func NewID() string {
	const alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"
	b := make([]byte, 26)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// AddUser creates an account and a personal access token for it.
func (s *Server) AddUser(username string, bot bool) *User {
	u := &User{ID: NewID(), Username: username, IsBot: bot, Token: NewID()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
	s.tokens[u.Token] = u.ID
	return u
}

// AddTeam creates a team.
func (s *Server) AddTeam(name string) *Team {
	t := &Team{ID: NewID(), Name: name}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teams[t.ID] = t
	return t
}

// AddChannel creates an open channel in team with the given members.
func (s *Server) AddChannel(team *Team, name string, members ...*User) *Channel {
	return s.addChannel(team.ID, "O", name, members...)
}

// AddDirect creates the direct channel of two users.
func (s *Server) AddDirect(a, b *User) *Channel {
	return s.addChannel("", "D", a.ID+"__"+b.ID, a, b)
}

func (s *Server) addChannel(teamID, typ, name string, members ...*User) *Channel {
	c := &Channel{ID: NewID(), TeamID: teamID, Type: typ, Name: name, DisplayName: name, members: map[string]bool{}}
	for _, m := range members {
		c.members[m.ID] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[c.ID] = c
	return c
}

// IsMember reports whether u is in channel c.
func (s *Server) IsMember(c *Channel, u *User) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channels[c.ID].members[u.ID]
}

// Say makes u post text in channel c (in the thread of root when set), as
// a client would: through POST /api/v4/posts with u's token.
func (s *Server) Say(t testing.TB, u *User, c *Channel, root, text string) *Post {
	t.Helper()
	var p Post
	body := map[string]string{"channel_id": c.ID, "root_id": root, "message": text}
	if status := s.request(t, u, http.MethodPost, "/api/v4/posts", body, &p); status != http.StatusCreated {
		t.Fatalf("mattermosttest: %s could not post in %s: HTTP %d", u.Username, c.Name, status)
	}
	return &p
}

// Posts returns the posts in channel c, oldest first.
func (s *Server) Posts(c *Channel) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Post
	for _, id := range s.order {
		if p := s.posts[id]; p.ChannelID == c.ID {
			out = append(out, clonePost(p))
		}
	}
	return out
}

// Post returns the post with the given ID.
func (s *Server) Post(id string) (Post, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.posts[id]
	if !ok {
		return Post{}, false
	}
	return clonePost(p), true
}

// Reactions returns the reactions so far.
func (s *Server) Reactions() []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reactions)
}

// File returns an uploaded file.
func (s *Server) File(id string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	return f, ok
}

// Throttle makes the next n REST requests fail with 429 and Retry-After.
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttled, s.retry = n, int(retryAfter/time.Second)
}

// Requests is the number of REST requests served so far.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Seen renders what a person sees of u's posts in channel c: the message
// (Markdown escapes undone), then each attachment's text, fields and
// buttons, one string per post.
func (s *Server) Seen(c *Channel, u *User) []string {
	var out []string
	for _, p := range s.Posts(c) {
		if p.UserID != u.ID {
			continue
		}
		out = append(out, Render(p))
	}
	return out
}

// Render is a post as a person sees it.
func Render(p Post) string {
	lines := []string{unescape(p.Message)}
	atts, _ := p.Props["attachments"].([]any)
	for _, a := range atts {
		m, _ := a.(map[string]any)
		if txt, _ := m["text"].(string); txt != "" {
			lines = append(lines, unescape(txt))
		}
		fields, _ := m["fields"].([]any)
		for _, f := range fields {
			fm, _ := f.(map[string]any)
			lines = append(lines, fmt.Sprintf("%v: %v", fm["title"], fm["value"]))
		}
		actions, _ := m["actions"].([]any)
		var names []string
		for _, ac := range actions {
			am, _ := ac.(map[string]any)
			names = append(names, fmt.Sprintf("[%v]", am["name"]))
		}
		if len(names) > 0 {
			lines = append(lines, strings.Join(names, " "))
		}
	}
	return strings.Join(lines, "\n")
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\*_`[]~<>|#", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func clonePost(p *Post) Post {
	c := *p
	if p.Props != nil {
		b, _ := json.Marshal(p.Props)
		_ = json.Unmarshal(b, &c.Props)
	}
	c.FileIDs = slices.Clone(p.FileIDs)
	return c
}

// DropConnections breaks every WebSocket connection, as a network failure
// would; the server keeps their events for resumption.
func (s *Server) DropConnections() {
	s.mu.Lock()
	var sockets []*websocket.Conn
	for _, c := range s.conns {
		if c.ws != nil {
			sockets = append(sockets, c.ws)
		}
	}
	s.mu.Unlock()
	for _, ws := range sockets {
		ws.UnderlyingConn().Close()
	}
}

// Connections is the number of live WebSocket connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.conns {
		if c.ws != nil {
			n++
		}
	}
	return n
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func now() int64 { return time.Now().UnixMilli() }
