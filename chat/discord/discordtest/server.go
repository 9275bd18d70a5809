// Package discordtest is a fake Discord for tests: the REST API (v9 and v10) and
// the gateway, as Discord's developer documentation describes them
// (discord.com/developers/docs: Reference, Topics/Gateway, Topics/Rate
// Limits, Resources/Message, Resources/Channel, Interactions/Receiving and
// Responding, Interactions/Message Components).
//
// REST: gateway discovery, the current user, channels, creating, editing and
// fetching messages (JSON or multipart with payload_json and files[n]),
// threads from a message, reactions, interaction callbacks and the bulk
// overwrite of application commands. Every call needs "Authorization: Bot
// TOKEN"; bad bodies get Discord's 400 error shape (code 50035 and the field,
// 50006 for an empty message, 160004 for a second thread on a message), and
// Limit makes the next calls of a route answer 429 with retry_after and the
// X-RateLimit-* headers.
//
// Gateway (WebSocket, JSON, optional zlib payload compression): HELLO,
// IDENTIFY (token and intents checked: close 4004, 4013, 4014), READY and
// GUILD_CREATE, heartbeats and their ACKs, RESUME with replay of the events
// missed since the client's sequence (or INVALID_SESSION), RECONNECT (op 7)
// on demand. Dispatches: MESSAGE_CREATE and MESSAGE_UPDATE (without content
// unless the MESSAGE_CONTENT intent was given, except in DMs and mentions),
// THREAD_CREATE, MESSAGE_REACTION_ADD, INTERACTION_CREATE for button clicks.
//
// The people in the chat are simulated: Say, DM and Click.
package discordtest

import (
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultToken             = "MTA1.fake.bot-token"
	DefaultHeartbeatInterval = 41250 * time.Millisecond
	// WaitTimeout bounds the helpers that wait for the client.
	WaitTimeout = 10 * time.Second
	// discordEpoch is the first millisecond of 2015, the origin of snowflakes.
	discordEpoch = 1420070400000
)

// Gateway intents (Topics/Gateway, List of Intents).
const (
	IntentGuilds         = 1 << 0
	IntentGuildMessages  = 1 << 9
	IntentDirectMessages = 1 << 12
	IntentMessageContent = 1 << 15
	knownIntents         = 1<<26 - 1
)

// Channel types (Resources/Channel).
const (
	ChannelGuildText    = 0
	ChannelDM           = 1
	ChannelPublicThread = 11
)

// Options configure a Server.
type Options struct {
	// Token is the bot token the server accepts (without "Bot "); DefaultToken when empty.
	Token string
	// HeartbeatInterval is sent in HELLO (DefaultHeartbeatInterval when 0).
	HeartbeatInterval time.Duration
	// Channels are the guild's text channels by name (ops and dev when empty).
	Channels []string
	// DenyMessageContent refuses the privileged MESSAGE_CONTENT intent
	// (close 4014), as Discord does for a bot without it enabled.
	DenyMessageContent bool
}

// Server is a running fake Discord.
type Server struct {
	opts Options
	http *httptest.Server

	mu        sync.Mutex
	changed   chan struct{}
	seq       int64
	bot       User
	appID     string
	guildID   string
	users     map[string]User // by username
	channels  map[string]*Channel
	chanOrder []string
	messages  map[string]*Message
	msgOrder  []string
	sessions  map[string]*session
	conns     map[*gwConn]bool
	limits    map[string]*limit
	callbacks []Callback
	reactions []Reaction
	commands  []json.RawMessage
	requests  []string
	noAcks    bool
	gwStats   GatewayStats
	zw        *zlib.Writer // reused: a zlib writer's state is large
	closed    bool
}

// User is a Discord user object (the fields a bot reads).
type User struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	Discriminator string `json:"discriminator"`
	GlobalName    string `json:"global_name,omitempty"`
	Avatar        any    `json:"avatar"`
	Bot           bool   `json:"bot,omitempty"`
}

// Channel is a channel object.
type Channel struct {
	ID       string `json:"id"`
	Type     int    `json:"type"`
	GuildID  string `json:"guild_id,omitempty"`
	Name     string `json:"name,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	OwnerID  string `json:"owner_id,omitempty"`
	Position int    `json:"position"`
	// Recipients of a DM channel.
	Recipients     []User          `json:"recipients,omitempty"`
	ThreadMetadata *ThreadMetadata `json:"thread_metadata,omitempty"`
}

// ThreadMetadata is a thread channel's metadata.
type ThreadMetadata struct {
	Archived            bool   `json:"archived"`
	AutoArchiveDuration int    `json:"auto_archive_duration"`
	ArchiveTimestamp    string `json:"archive_timestamp"`
	Locked              bool   `json:"locked"`
}

// Message is a message object.
type Message struct {
	ID               string            `json:"id"`
	Type             int               `json:"type"`
	ChannelID        string            `json:"channel_id"`
	GuildID          string            `json:"guild_id,omitempty"`
	Author           User              `json:"author"`
	Content          string            `json:"content"`
	Timestamp        string            `json:"timestamp"`
	EditedTimestamp  *string           `json:"edited_timestamp"`
	TTS              bool              `json:"tts"`
	MentionEveryone  bool              `json:"mention_everyone"`
	Mentions         []User            `json:"mentions"`
	MentionRoles     []string          `json:"mention_roles"`
	Attachments      []Attachment      `json:"attachments"`
	Embeds           []Embed           `json:"embeds"`
	Components       []json.RawMessage `json:"components"`
	Pinned           bool              `json:"pinned"`
	Flags            int               `json:"flags"`
	MessageReference *MessageReference `json:"message_reference,omitempty"`
	Thread           *Channel          `json:"thread,omitempty"`
	// AllowedMentions is what the bot sent (not part of Discord's message object).
	AllowedMentions json.RawMessage `json:"-"`
}

// MessageReference points at another message.
type MessageReference struct {
	MessageID string `json:"message_id,omitempty"`
	ChannelID string `json:"channel_id,omitempty"`
	GuildID   string `json:"guild_id,omitempty"`
}

// Attachment is an uploaded file; Data is what was uploaded (not sent).
type Attachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
	ContentType string `json:"content_type,omitempty"`
	Data        []byte `json:"-"`
}

// Embed is an embed object.
type Embed struct {
	Type        string       `json:"type,omitempty"`
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	URL         string       `json:"url,omitempty"`
	Color       int          `json:"color,omitempty"`
	Fields      []EmbedField `json:"fields,omitempty"`
	Image       *EmbedMedia  `json:"image,omitempty"`
}

// EmbedField is one field of an embed.
type EmbedField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

// EmbedMedia is an embed's image.
type EmbedMedia struct {
	URL string `json:"url"`
}

// Callback is an interaction response the bot sent.
type Callback struct {
	InteractionID string
	Token         string
	Type          int
	Data          json.RawMessage
}

// Reaction is a reaction the bot added.
type Reaction struct {
	ChannelID, MessageID, Emoji string
}

// GatewayStats counts what clients sent on the gateway.
type GatewayStats struct {
	Identifies, Resumes, Heartbeats int
	// Intents of the last IDENTIFY.
	Intents int
	// LastHeartbeatSeq is the sequence number of the last heartbeat (-1 for null).
	LastHeartbeatSeq int64
}

type limit struct {
	n          int
	retryAfter time.Duration
	global     bool
}

// Start starts a fake Discord on a loopback port and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if len(opts.Channels) == 0 {
		opts.Channels = []string{"ops", "dev"}
	}
	s := &Server{
		opts:     opts,
		changed:  make(chan struct{}),
		users:    map[string]User{},
		channels: map[string]*Channel{},
		messages: map[string]*Message{},
		sessions: map[string]*session{},
		conns:    map[*gwConn]bool{},
		limits:   map[string]*limit{},
	}
	s.bot = User{ID: s.snowflake(), Username: "opsbot", Discriminator: "0", Bot: true}
	s.appID = s.bot.ID
	s.guildID = s.snowflake()
	for i, name := range opts.Channels {
		c := &Channel{ID: s.snowflake(), Type: ChannelGuildText, GuildID: s.guildID, Name: name, Position: i}
		s.channels[c.ID] = c
		s.chanOrder = append(s.chanOrder, c.ID)
	}
	s.http = httptest.NewServer(s.routes())
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and drops every gateway connection.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*gwConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
	s.http.CloseClientConnections()
	s.http.Close()
}

// URL is the server's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.http.URL }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// Bot is the bot's user.
func (s *Server) Bot() User { return s.bot }

// GuildID is the one guild's ID.
func (s *Server) GuildID() string { return s.guildID }

// snowflake returns a new ID: milliseconds since 2015 shifted left by 22,
// plus a counter; s.mu must be held or s not yet shared.
func (s *Server) snowflake() string {
	s.seq++
	ms := time.Now().UnixMilli() - discordEpoch
	return strconv.FormatInt(ms<<22|(s.seq&0x3fffff), 10)
}

// notify wakes the waiters; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait waits until ready (called with s.mu held) is true.
func (s *Server) wait(t testing.TB, what string, ready func() bool) {
	t.Helper()
	deadline := time.After(WaitTimeout)
	for {
		s.mu.Lock()
		ok := ready()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("discordtest: %s did not happen within %s", what, WaitTimeout)
		}
	}
}

// user returns (creating) the user named name; s.mu must be held.
func (s *Server) user(name string) User {
	u, ok := s.users[name]
	if !ok {
		u = User{ID: s.snowflake(), Username: name, Discriminator: "0", GlobalName: strings.ToUpper(name[:1]) + name[1:]}
		s.users[name] = u
	}
	return u
}

// User returns the user named name, creating them.
func (s *Server) User(name string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user(name)
}

// ChannelID returns the ID of the guild text channel named name.
func (s *Server) ChannelID(t testing.TB, name string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channelNamed(name); c != nil {
		return c.ID
	}
	t.Fatalf("discordtest: no channel %q", name)
	return ""
}

func (s *Server) channelNamed(name string) *Channel {
	for _, id := range s.chanOrder {
		if c := s.channels[id]; c.Type == ChannelGuildText && c.Name == name {
			return c
		}
	}
	return nil
}

// Say makes user post text in the guild channel named channel (a name, or
// the ID of any channel, a thread's included) and returns the message.
func (s *Server) Say(t testing.TB, user, channel, text string) Message {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelNamed(channel)
	if c == nil {
		c = s.channels[channel]
	}
	if c == nil {
		t.Fatalf("discordtest: no channel %q", channel)
	}
	return s.post(c, s.user(user), text)
}

// DM makes user send text to the bot in a direct message.
func (s *Server) DM(t testing.TB, user, text string) Message {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.post(s.dmWith(s.user(user)), s.user(user), text)
}

func (s *Server) dmWith(u User) *Channel {
	for _, c := range s.channels {
		if c.Type == ChannelDM && c.Recipients[0].ID == u.ID {
			return c
		}
	}
	c := &Channel{ID: s.snowflake(), Type: ChannelDM, Recipients: []User{u}}
	s.channels[c.ID] = c
	s.chanOrder = append(s.chanOrder, c.ID)
	return c
}

// post stores a message by a person and dispatches it; s.mu must be held.
func (s *Server) post(c *Channel, from User, text string) Message {
	m := &Message{
		ID: s.snowflake(), ChannelID: c.ID, GuildID: c.GuildID, Author: from, Content: text,
		Timestamp: time.Now().UTC().Format(time.RFC3339Nano), Mentions: []User{}, MentionRoles: []string{},
		Attachments: []Attachment{}, Embeds: []Embed{}, Components: []json.RawMessage{},
	}
	if strings.Contains(text, "<@"+s.bot.ID+">") {
		m.Mentions = append(m.Mentions, s.bot)
	}
	s.store(m)
	s.dispatch("MESSAGE_CREATE", m)
	return *m
}

func (s *Server) store(m *Message) {
	s.messages[m.ID] = m
	s.msgOrder = append(s.msgOrder, m.ID)
	s.notify()
}

// Click makes user click the button with customID on message messageID,
// as INTERACTION_CREATE (type 3, MESSAGE_COMPONENT), and returns the
// interaction's ID.
func (s *Server) Click(t testing.TB, user, messageID, customID string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[messageID]
	if !ok {
		t.Fatalf("discordtest: no message %s", messageID)
	}
	found := false
	for _, row := range m.Components {
		if strings.Contains(string(row), strconv.Quote(customID)) {
			found = true
		}
	}
	if !found {
		t.Fatalf("discordtest: message %s has no component %q", messageID, customID)
	}
	c := s.channels[m.ChannelID]
	u := s.user(user)
	id := s.snowflake()
	in := map[string]any{
		"id": id, "application_id": s.appID, "type": 3, "token": "aW50ZXJhY3Rpb24." + id, "version": 1,
		"channel_id": c.ID, "channel": c, "message": m, "locale": "en-US", "app_permissions": "442368",
		"data": map[string]any{"custom_id": customID, "component_type": 2},
	}
	if c.GuildID != "" {
		in["guild_id"] = c.GuildID
		in["member"] = map[string]any{"user": u, "roles": []string{}, "joined_at": m.Timestamp, "deaf": false, "mute": false, "permissions": "2248473465835073"}
	} else {
		in["user"] = u
	}
	s.dispatch("INTERACTION_CREATE", in)
	return id
}

// Command makes user run the bot's slash command name in the guild channel
// named channel with one string option, as INTERACTION_CREATE (type 2,
// APPLICATION_COMMAND), and returns the interaction's ID. The command must
// have been registered.
func (s *Server) Command(t testing.TB, user, channel, name, option, value string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var cmdID string
	for _, raw := range s.commands {
		var c struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &c) == nil && c.Name == name {
			cmdID = c.ID
		}
	}
	if cmdID == "" {
		t.Fatalf("discordtest: no command %q registered", name)
	}
	c := s.channelNamed(channel)
	if c == nil {
		t.Fatalf("discordtest: no channel %q", channel)
	}
	u := s.user(user)
	id := s.snowflake()
	s.dispatch("INTERACTION_CREATE", map[string]any{
		"id": id, "application_id": s.appID, "type": 2, "token": "aW50ZXJhY3Rpb24." + id, "version": 1,
		"guild_id": c.GuildID, "channel_id": c.ID, "channel": c, "locale": "en-US", "app_permissions": "442368",
		"member": map[string]any{"user": u, "roles": []string{}, "joined_at": time.Now().UTC().Format(time.RFC3339Nano), "deaf": false, "mute": false, "permissions": "2248473465835073"},
		"data":   map[string]any{"id": cmdID, "name": name, "type": 1, "options": []map[string]any{{"name": option, "type": 3, "value": value}}},
	})
	return id
}

// WaitCommands waits until the bot has registered application commands.
func (s *Server) WaitCommands(t testing.TB) []json.RawMessage {
	t.Helper()
	s.wait(t, "the registration of commands", func() bool { return len(s.commands) > 0 })
	return s.Commands()
}

// WaitCallback waits for the bot's response to interaction id.
func (s *Server) WaitCallback(t testing.TB, id string) Callback {
	t.Helper()
	var cb Callback
	s.wait(t, "the callback of interaction "+id, func() bool {
		for _, c := range s.callbacks {
			if c.InteractionID == id {
				cb = c
				return true
			}
		}
		return false
	})
	return cb
}

// Messages returns the messages in channel (an ID), oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.msgOrder {
		if m := s.messages[id]; m.ChannelID == channel {
			out = append(out, *m)
		}
	}
	return out
}

// Message returns the message with the ID id.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Channel returns the channel with the ID id.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return *c, true
}

// Seen is what a person sees of the bot's messages in the guild channel
// named channel and its threads, oldest first: each message's content, its
// embeds' titles, descriptions and fields, its attachments' names and its
// buttons' labels, one string per message.
func (s *Server) Seen(t testing.TB, channel string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelNamed(channel)
	if c == nil {
		t.Fatalf("discordtest: no channel %q", channel)
	}
	var out []string
	for _, id := range s.msgOrder {
		m := s.messages[id]
		where := s.channels[m.ChannelID]
		if m.Author.ID != s.bot.ID || (where.ID != c.ID && where.ParentID != c.ID) {
			continue
		}
		out = append(out, Render(*m))
	}
	return out
}

// Render is the text of a message as a person sees it (see Seen).
func Render(m Message) string {
	var parts []string
	if m.Content != "" {
		parts = append(parts, m.Content)
	}
	for _, e := range m.Embeds {
		for _, p := range []string{e.Title, e.Description} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		for _, f := range e.Fields {
			parts = append(parts, f.Name+": "+f.Value)
		}
	}
	for _, a := range m.Attachments {
		parts = append(parts, "[file "+a.Filename+"]")
	}
	for _, row := range m.Components {
		var r struct {
			Components []struct {
				Label string `json:"label"`
			} `json:"components"`
		}
		if json.Unmarshal(row, &r) == nil {
			for _, b := range r.Components {
				parts = append(parts, "["+b.Label+"]")
			}
		}
	}
	return strings.Join(parts, "\n")
}

// Callbacks returns the interaction responses received so far.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callbacks)
}

// Reactions returns the reactions the bot added.
func (s *Server) Reactions() []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reactions)
}

// Commands returns the application commands the bot registered last.
func (s *Server) Commands() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// Requests returns "METHOD /path" of every REST call so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Limit makes the next n calls of route ("POST /channels/{channel_id}/messages",
// as the docs write routes) answer 429 with retry_after; global marks the
// limit global (X-RateLimit-Global, scope global).
func (s *Server) Limit(route string, n int, retryAfter time.Duration, global bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[route] = &limit{n: n, retryAfter: retryAfter, global: global}
}

// apiError is Discord's JSON error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Errors  any    `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// formError is a 400 Invalid Form Body naming field.
func formError(w http.ResponseWriter, field, code, msg string) {
	errs := map[string]any{}
	cur := errs
	parts := strings.Split(field, ".")
	for i, p := range parts {
		if i == len(parts)-1 {
			cur[p] = map[string]any{"_errors": []map[string]string{{"code": code, "message": msg}}}
			break
		}
		next := map[string]any{}
		cur[p] = next
		cur = next
	}
	writeJSON(w, http.StatusBadRequest, apiError{Code: 50035, Message: "Invalid Form Body", Errors: errs})
}

// apiVersions are the API versions served: discordgo v0.29 speaks v9, the
// current one is v10; both behave alike here (Discord enforces the
// MESSAGE_CONTENT intent on both).
var apiVersions = []string{"/api/v9", "/api/v10"}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		for _, api := range apiVersions {
			mux.HandleFunc(method+" "+api+path, s.authed(route, h))
		}
	}
	handle("GET /gateway", "GET /gateway", s.getGateway)
	handle("GET /gateway/bot", "GET /gateway/bot", s.getGateway)
	handle("GET /users/@me", "GET /users/@me", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.bot) })
	handle("GET /channels/{cid}", "GET /channels/{channel_id}", s.getChannel)
	handle("POST /channels/{cid}/messages", "POST /channels/{channel_id}/messages", s.createMessage)
	handle("GET /channels/{cid}/messages/{mid}", "GET /channels/{channel_id}/messages/{message_id}", s.getMessage)
	handle("PATCH /channels/{cid}/messages/{mid}", "PATCH /channels/{channel_id}/messages/{message_id}", s.editMessage)
	handle("POST /channels/{cid}/messages/{mid}/threads", "POST /channels/{channel_id}/messages/{message_id}/threads", s.startThread)
	handle("PUT /channels/{cid}/messages/{mid}/reactions/{emoji}/{who}", "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", s.addReaction)
	handle("POST /interactions/{iid}/{itoken}/callback", "POST /interactions/{interaction_id}/{interaction_token}/callback", s.callback)
	handle("PUT /applications/{aid}/commands", "PUT /applications/{application_id}/commands", s.putCommands)
	mux.HandleFunc("GET /gateway/", s.serveGateway)
	return mux
}

// authed checks the bot token, applies a Limit set for route, records the
// call and adds the rate limit headers of a generous bucket.
func (s *Server) authed(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bot "+s.opts.Token {
			writeJSON(w, http.StatusUnauthorized, apiError{Code: 0, Message: "401: Unauthorized"})
			return
		}
		s.mu.Lock()
		path := r.URL.Path
		for _, api := range apiVersions {
			path = strings.TrimPrefix(path, api+"/")
		}
		s.requests = append(s.requests, r.Method+" /"+path)
		l := s.limits[route]
		limited := l != nil && l.n > 0
		if limited {
			l.n--
		}
		s.mu.Unlock()
		bucket := fmt.Sprintf("%x", len(route)*7919)
		h2 := w.Header()
		h2.Set("X-RateLimit-Bucket", bucket)
		h2.Set("X-RateLimit-Limit", "50")
		if limited {
			after := l.retryAfter.Seconds()
			h2.Set("X-RateLimit-Remaining", "0")
			h2.Set("X-RateLimit-Reset-After", strconv.FormatFloat(after, 'f', 3, 64))
			h2.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(time.Now().Add(l.retryAfter).UnixMilli())/1000, 'f', 3, 64))
			h2.Set("Retry-After", strconv.Itoa(int(after+0.999)))
			scope := "user"
			if l.global {
				h2.Set("X-RateLimit-Global", "true")
				scope = "global"
			}
			h2.Set("X-RateLimit-Scope", scope)
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.", "retry_after": after, "global": l.global})
			return
		}
		h2.Set("X-RateLimit-Remaining", "49")
		h2.Set("X-RateLimit-Reset-After", "1.000")
		h2.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(time.Now().Add(time.Second).UnixMilli())/1000, 'f', 3, 64))
		h(w, r)
	}
}

func (s *Server) getGateway(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{
		"url": s.gatewayURL(), "shards": 1,
		"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1},
	})
}

func (s *Server) gatewayURL() string {
	return "ws" + strings.TrimPrefix(s.http.URL, "http") + "/gateway"
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c, ok := s.channels[r.PathValue("cid")]
	var out Channel
	if ok {
		out = *c
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Code: 10003, Message: "Unknown Channel"})
		return
	}
	writeJSON(w, 200, out)
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m, ok := s.messages[r.PathValue("mid")]
	var out Message
	if ok && m.ChannelID == r.PathValue("cid") {
		out = *m
	}
	s.mu.Unlock()
	if out.ID == "" {
		writeJSON(w, http.StatusNotFound, apiError{Code: 10008, Message: "Unknown Message"})
		return
	}
	writeJSON(w, 200, out)
}

// messageBody is the JSON params of Create Message and Edit Message.
type messageBody struct {
	Content          *string            `json:"content"`
	Embeds           *[]Embed           `json:"embeds"`
	Components       *[]json.RawMessage `json:"components"`
	AllowedMentions  json.RawMessage    `json:"allowed_mentions"`
	MessageReference *MessageReference  `json:"message_reference"`
	Attachments      []json.RawMessage  `json:"attachments"`
}

// readMessageBody reads JSON or multipart/form-data (payload_json and files[n]).
func readMessageBody(r *http.Request) (messageBody, []Attachment, error) {
	var body messageBody
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body)
		return body, nil, err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var files []Attachment
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return body, files, nil
		}
		if err != nil {
			return body, nil, err
		}
		data, err := io.ReadAll(io.LimitReader(p, 25<<20))
		if err != nil {
			return body, nil, err
		}
		switch name := p.FormName(); {
		case name == "payload_json":
			if err := json.Unmarshal(data, &body); err != nil {
				return body, nil, err
			}
		case strings.HasPrefix(name, "files["):
			files = append(files, Attachment{Filename: p.FileName(), Size: len(data), ContentType: p.Header.Get("Content-Type"), Data: data})
		}
	}
}

// validate checks a message body against Discord's documented limits and
// writes the 400 when it fails.
func validate(w http.ResponseWriter, b messageBody) bool {
	if b.Content != nil && utf8.RuneCountInString(*b.Content) > 2000 {
		formError(w, "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
		return false
	}
	if b.Embeds != nil {
		if len(*b.Embeds) > 10 {
			formError(w, "embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
			return false
		}
		for i, e := range *b.Embeds {
			switch {
			case utf8.RuneCountInString(e.Description) > 4096:
				formError(w, fmt.Sprintf("embeds.%d.description", i), "BASE_TYPE_MAX_LENGTH", "Must be 4096 or fewer in length.")
				return false
			case len(e.Fields) > 25:
				formError(w, fmt.Sprintf("embeds.%d.fields", i), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
				return false
			}
			for j, f := range e.Fields {
				if f.Name == "" || f.Value == "" || utf8.RuneCountInString(f.Name) > 256 || utf8.RuneCountInString(f.Value) > 1024 {
					formError(w, fmt.Sprintf("embeds.%d.fields.%d", i, j), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 256 (name) or 1024 (value) in length.")
					return false
				}
			}
		}
	}
	if b.Components != nil {
		if len(*b.Components) > 5 {
			formError(w, "components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
			return false
		}
		for i, raw := range *b.Components {
			var row struct {
				Type       int `json:"type"`
				Components []struct {
					Type     int    `json:"type"`
					Style    int    `json:"style"`
					Label    string `json:"label"`
					CustomID string `json:"custom_id"`
					URL      string `json:"url"`
				} `json:"components"`
			}
			if err := json.Unmarshal(raw, &row); err != nil || row.Type != 1 || len(row.Components) == 0 || len(row.Components) > 5 {
				formError(w, fmt.Sprintf("components.%d", i), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
				return false
			}
			for j, c := range row.Components {
				p := fmt.Sprintf("components.%d.components.%d", i, j)
				switch {
				case c.Type != 2 || c.Style < 1 || c.Style > 6:
					formError(w, p+".style", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6).")
					return false
				case utf8.RuneCountInString(c.Label) > 80:
					formError(w, p+".label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.")
					return false
				case c.Style != 5 && (c.CustomID == "" || len(c.CustomID) > 100):
					formError(w, p+".custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
					return false
				}
			}
		}
	}
	return true
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	body, files, err := readMessageBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."})
		return
	}
	if !validate(w, body) {
		return
	}
	empty := (body.Content == nil || *body.Content == "") && (body.Embeds == nil || len(*body.Embeds) == 0) &&
		(body.Components == nil || len(*body.Components) == 0) && len(files) == 0
	if empty {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50006, Message: "Cannot send an empty message"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[r.PathValue("cid")]
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Code: 10003, Message: "Unknown Channel"})
		return
	}
	m := &Message{
		ID: s.snowflake(), ChannelID: c.ID, GuildID: c.GuildID, Author: s.bot,
		Timestamp: time.Now().UTC().Format(time.RFC3339Nano), Mentions: []User{}, MentionRoles: []string{},
		Attachments: []Attachment{}, Embeds: []Embed{}, Components: []json.RawMessage{},
		MessageReference: body.MessageReference, AllowedMentions: body.AllowedMentions,
	}
	if c.Type == ChannelPublicThread {
		m.Type = 0
	}
	applyBody(m, body)
	for _, f := range files {
		f.ID = s.snowflake()
		f.URL = "https://cdn.discordapp.com/attachments/" + c.ID + "/" + f.ID + "/" + url.PathEscape(f.Filename)
		f.ProxyURL = "https://media.discordapp.net/attachments/" + c.ID + "/" + f.ID + "/" + url.PathEscape(f.Filename)
		m.Attachments = append(m.Attachments, f)
	}
	s.store(m)
	s.dispatch("MESSAGE_CREATE", m)
	writeJSON(w, 200, m)
}

func applyBody(m *Message, b messageBody) {
	if b.Content != nil {
		m.Content = *b.Content
	}
	if b.Embeds != nil {
		m.Embeds = append([]Embed{}, *b.Embeds...)
		for i := range m.Embeds {
			if m.Embeds[i].Type == "" {
				m.Embeds[i].Type = "rich"
			}
		}
	}
	if b.Components != nil {
		m.Components = append([]json.RawMessage{}, *b.Components...)
	}
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) {
	body, _, err := readMessageBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."})
		return
	}
	if !validate(w, body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[r.PathValue("mid")]
	if !ok || m.ChannelID != r.PathValue("cid") {
		writeJSON(w, http.StatusNotFound, apiError{Code: 10008, Message: "Unknown Message"})
		return
	}
	if m.Author.ID != s.bot.ID {
		writeJSON(w, http.StatusForbidden, apiError{Code: 50005, Message: "Cannot edit a message authored by another user"})
		return
	}
	applyBody(m, body)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	m.EditedTimestamp = &now
	s.notify()
	s.dispatch("MESSAGE_UPDATE", m)
	writeJSON(w, 200, m)
}

func (s *Server) startThread(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name                string `json:"name"`
		AutoArchiveDuration int    `json:"auto_archive_duration"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."})
		return
	}
	if n := utf8.RuneCountInString(body.Name); n < 1 || n > 100 {
		formError(w, "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		return
	}
	switch body.AutoArchiveDuration {
	case 0, 60, 1440, 4320, 10080:
	default:
		formError(w, "auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of (60, 1440, 4320, 10080).")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[r.PathValue("mid")]
	if !ok || m.ChannelID != r.PathValue("cid") {
		writeJSON(w, http.StatusNotFound, apiError{Code: 10008, Message: "Unknown Message"})
		return
	}
	if m.Thread != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 160004, Message: "A thread has already been created for this message"})
		return
	}
	if body.AutoArchiveDuration == 0 {
		body.AutoArchiveDuration = 4320
	}
	th := &Channel{
		ID: m.ID, Type: ChannelPublicThread, GuildID: m.GuildID, Name: body.Name, ParentID: m.ChannelID, OwnerID: s.bot.ID,
		ThreadMetadata: &ThreadMetadata{AutoArchiveDuration: body.AutoArchiveDuration, ArchiveTimestamp: time.Now().UTC().Format(time.RFC3339Nano)},
	}
	s.channels[th.ID] = th
	s.chanOrder = append(s.chanOrder, th.ID)
	m.Thread = th
	m.Flags |= 1 << 5 // HAS_THREAD
	s.notify()
	s.dispatch("THREAD_CREATE", struct {
		*Channel
		NewlyCreated bool `json:"newly_created"`
	}{th, true})
	writeJSON(w, 201, th)
}

func (s *Server) addReaction(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("who") != "@me" {
		writeJSON(w, http.StatusNotFound, apiError{Code: 0, Message: "404: Not Found"})
		return
	}
	emoji := r.PathValue("emoji")
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[r.PathValue("mid")]
	if !ok || m.ChannelID != r.PathValue("cid") {
		writeJSON(w, http.StatusNotFound, apiError{Code: 10008, Message: "Unknown Message"})
		return
	}
	if !isEmoji(emoji) {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 10014, Message: "Unknown Emoji"})
		return
	}
	s.reactions = append(s.reactions, Reaction{ChannelID: m.ChannelID, MessageID: m.ID, Emoji: emoji})
	s.notify()
	s.dispatch("MESSAGE_REACTION_ADD", map[string]any{
		"user_id": s.bot.ID, "channel_id": m.ChannelID, "message_id": m.ID, "guild_id": m.GuildID,
		"emoji": map[string]any{"id": nil, "name": emoji},
	})
	w.WriteHeader(http.StatusNoContent)
}

// isEmoji accepts a Unicode emoji (no ASCII letters) or a custom emoji "name:id".
func isEmoji(e string) bool {
	if name, id, ok := strings.Cut(e, ":"); ok {
		_, err := strconv.ParseUint(id, 10, 64)
		return name != "" && err == nil
	}
	for _, r := range e {
		if r < 0x80 && r != '#' && r != '*' && (r < '0' || r > '9') {
			return false
		}
	}
	return e != ""
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."})
		return
	}
	switch body.Type {
	case 1, 4, 5, 6, 7, 8, 9:
	default:
		formError(w, "type", "BASE_TYPE_CHOICES", "Value must be one of (1, 4, 5, 6, 7, 8, 9).")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, token := r.PathValue("iid"), r.PathValue("itoken")
	if token != "aW50ZXJhY3Rpb24."+id {
		writeJSON(w, http.StatusNotFound, apiError{Code: 10062, Message: "Unknown interaction"})
		return
	}
	for _, c := range s.callbacks {
		if c.InteractionID == id {
			writeJSON(w, http.StatusBadRequest, apiError{Code: 40060, Message: "Interaction has already been acknowledged."})
			return
		}
	}
	s.callbacks = append(s.callbacks, Callback{InteractionID: id, Token: token, Type: body.Type, Data: body.Data})
	s.notify()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putCommands(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("aid") != s.appID {
		writeJSON(w, http.StatusForbidden, apiError{Code: 50001, Message: "Missing Access"})
		return
	}
	var cmds []map[string]any
	if err := json.NewDecoder(r.Body).Decode(&cmds); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands = nil
	for i, c := range cmds {
		name, _ := c["name"].(string)
		if name == "" || len(name) > 32 || strings.ToLower(name) != name {
			formError(w, fmt.Sprintf("%d.name", i), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
			return
		}
		c["id"], c["application_id"], c["version"] = s.snowflake(), s.appID, s.snowflake()
		raw, _ := json.Marshal(c)
		s.commands = append(s.commands, raw)
	}
	s.notify()
	writeJSON(w, 200, cmds)
}
