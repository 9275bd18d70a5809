// Package matrixtest is a fake Matrix homeserver for tests, following the
// client-server API (spec.matrix.org, v1.x): what a bot uses of it.
//
//   - GET /_matrix/client/versions
//   - POST /_matrix/client/v3/login (m.login.password, m.id.user) and
//     GET /_matrix/client/v3/account/whoami
//   - GET /_matrix/client/v3/sync with since tokens, a long-poll timeout and
//     an inline filter (room.timeline.limit): joined rooms with their state
//     and timeline (limited when cut), invites with their stripped state
//     (is_direct), account data
//   - POST /_matrix/client/v3/join/{roomIdOrAlias},
//     GET /_matrix/client/v3/directory/room/{roomAlias}
//   - PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}
//     (idempotent per transaction ID; 403 when not joined; 413 past 65536 bytes)
//   - POST /_matrix/media/v3/upload
//
// Every call but versions and login needs "Authorization: Bearer TOKEN"
// (401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN); errors have Matrix's
// {"errcode", "error"} shape; Limit makes the next calls of an endpoint
// answer 429 M_LIMIT_EXCEEDED with retry_after_ms (and Retry-After).
//
// The people in the chat are simulated: Say, SayEvent, Invite.
package matrixtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of Options.
const (
	DefaultServerName  = "test.local"
	DefaultBotPassword = "correct horse battery staple"
	// WaitTimeout bounds the helpers that wait for the client.
	WaitTimeout = 10 * time.Second
	// maxEventSize is the largest event a homeserver accepts (bytes of its JSON).
	maxEventSize = 65536
)

// Options configure a Server.
type Options struct {
	// ServerName is the homeserver's name, the part after ":" in IDs (DefaultServerName).
	ServerName string
	// Rooms are the rooms to create by local alias name, each with a
	// m.room.name of the same word; the bot is invited (see Uninvited),
	// not joined (ops and dev when empty).
	Rooms []string
	// BotPassword is the bot's password for m.login.password (DefaultBotPassword).
	BotPassword string
	// Uninvited leaves the bot uninvited to the rooms of Rooms (they are
	// public: it can join them by alias).
	Uninvited bool
}

// Server is a running fake homeserver.
type Server struct {
	opts Options
	http *httptest.Server

	mu       sync.Mutex
	changed  chan struct{}
	seq      int
	events   []*Event // every event, in stream order
	rooms    map[string]*room
	aliases  map[string]string // #alias:server → room ID
	tokens   map[string]string // access token → user ID
	txns     map[string]string // token + txn ID → event ID
	media    map[string]Media
	limits   map[string]*limit
	direct   map[string][]string // the bot's m.direct account data
	logins   int
	syncs    int
	requests []string
}

// Event is a room event as the client-server API gives it.
type Event struct {
	Type           string          `json:"type"`
	EventID        string          `json:"event_id"`
	Sender         string          `json:"sender"`
	RoomID         string          `json:"room_id,omitempty"`
	OriginServerTS int64           `json:"origin_server_ts"`
	Content        json.RawMessage `json:"content"`
	StateKey       *string         `json:"state_key,omitempty"`
	Unsigned       map[string]any  `json:"unsigned,omitempty"`
	pos            int
}

// Media is an uploaded file.
type Media struct {
	ContentType string
	Filename    string
	Data        []byte
}

type room struct {
	id      string
	alias   string
	members map[string]string // user ID → membership
}

type limit struct {
	n          int
	retryAfter time.Duration
	status     int // 0: 429
}

// Start starts a fake homeserver on a loopback port and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ServerName == "" {
		opts.ServerName = DefaultServerName
	}
	if opts.BotPassword == "" {
		opts.BotPassword = DefaultBotPassword
	}
	if len(opts.Rooms) == 0 {
		opts.Rooms = []string{"ops", "dev"}
	}
	s := &Server{
		opts: opts, changed: make(chan struct{}),
		rooms: map[string]*room{}, aliases: map[string]string{}, tokens: map[string]string{},
		txns: map[string]string{}, media: map[string]Media{}, limits: map[string]*limit{}, direct: map[string][]string{},
	}
	for _, name := range opts.Rooms {
		s.createRoom(s.UserID("admin"), name, false)
	}
	s.http = httptest.NewServer(s.routes())
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.http.CloseClientConnections()
	s.http.Close()
}

// URL is the homeserver's base URL.
func (s *Server) URL() string { return s.http.URL }

// BotID is the bot's user ID.
func (s *Server) BotID() string { return s.UserID("opsbot") }

// BotPassword is the bot's password.
func (s *Server) BotPassword() string { return s.opts.BotPassword }

// UserID is the user ID of the local user name.
func (s *Server) UserID(name string) string { return "@" + name + ":" + s.opts.ServerName }

// Alias is the room alias of the room named name.
func (s *Server) Alias(name string) string { return "#" + name + ":" + s.opts.ServerName }

// Token returns an access token for the bot, as a login would.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newToken(s.BotID())
}

func (s *Server) newToken(user string) string {
	s.seq++
	tok := fmt.Sprintf("syt_%s_%06d", strings.Trim(strings.Split(user, ":")[0], "@"), s.seq)
	s.tokens[tok] = user
	return tok
}

// Drop breaks every open connection (a sync in progress fails), as a
// network failure or a homeserver restart would.
func (s *Server) Drop() { s.http.CloseClientConnections() }

func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

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
			t.Fatalf("matrixtest: %s did not happen within %s", what, WaitTimeout)
		}
	}
}

// createRoom makes a room with its alias and name; s.mu must be held or s unshared.
func (s *Server) createRoom(creator, name string, direct bool) *room {
	s.seq++
	r := &room{id: fmt.Sprintf("!%sRoom%04d:%s", name, s.seq, s.opts.ServerName), members: map[string]string{}}
	s.rooms[r.id] = r
	s.state(r, creator, "m.room.create", "", map[string]any{"creator": creator, "room_version": "10"})
	s.state(r, creator, "m.room.member", creator, map[string]any{"membership": "join", "displayname": displayName(creator)})
	if !direct {
		r.alias = s.Alias(name)
		s.aliases[r.alias] = r.id
		s.state(r, creator, "m.room.name", "", map[string]any{"name": name})
		s.state(r, creator, "m.room.canonical_alias", "", map[string]any{"alias": r.alias})
		s.state(r, creator, "m.room.join_rules", "", map[string]any{"join_rule": "public"})
	}
	if direct || !s.opts.Uninvited {
		s.state(r, creator, "m.room.member", s.BotID(), map[string]any{"membership": "invite", "is_direct": direct, "displayname": "opsbot"})
	}
	return r
}

// displayName is the display name the fake gives a user: the local part, capitalised.
func displayName(user string) string {
	local := strings.TrimPrefix(strings.Split(user, ":")[0], "@")
	return strings.ToUpper(local[:1]) + local[1:]
}

// state appends a state event (and applies memberships).
func (s *Server) state(r *room, sender, typ, key string, content any) *Event {
	e := s.appendEvent(r, sender, typ, content)
	e.StateKey = &key
	if typ == "m.room.member" {
		var c struct {
			Membership string `json:"membership"`
		}
		_ = json.Unmarshal(e.Content, &c)
		r.members[key] = c.Membership
	}
	return e
}

func (s *Server) appendEvent(r *room, sender, typ string, content any) *Event {
	raw, _ := json.Marshal(content)
	s.seq++
	e := &Event{
		Type: typ, EventID: fmt.Sprintf("$ev%06d-%s", s.seq, strings.ToLower(typ[strings.LastIndex(typ, ".")+1:])), Sender: sender,
		RoomID: r.id, OriginServerTS: time.Now().UnixMilli(), Content: raw, pos: len(s.events) + 1,
	}
	s.events = append(s.events, e)
	if s.http != nil {
		s.notify()
	}
	return e
}

// roomNamed is the room whose alias is #name:server, or the room with ID name.
func (s *Server) roomNamed(t testing.TB, name string) *room {
	t.Helper()
	if r, ok := s.rooms[name]; ok {
		return r
	}
	id, ok := s.aliases[s.Alias(name)]
	if !ok {
		t.Fatalf("matrixtest: no room %q", name)
	}
	return s.rooms[id]
}

// RoomID is the ID of the room named name.
func (s *Server) RoomID(t testing.TB, name string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roomNamed(t, name).id
}

// Say makes user (a local name) send text to the room named room (or with
// that ID) as an m.text message, joining the room first, and returns the event.
func (s *Server) Say(t testing.TB, user, room, text string) Event {
	t.Helper()
	return s.SayEvent(t, user, room, "m.room.message", map[string]any{"msgtype": "m.text", "body": text})
}

// SayEvent makes user send an event with content to room.
func (s *Server) SayEvent(t testing.TB, user, roomName, typ string, content any) Event {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roomNamed(t, roomName)
	id := s.UserID(user)
	if r.members[id] != "join" {
		s.state(r, id, "m.room.member", id, map[string]any{"membership": "join", "displayname": displayName(id)})
	}
	return *s.appendEvent(r, id, typ, content)
}

// Invite makes user invite the bot to a new direct-message room and returns its ID.
func (s *Server) Invite(t testing.TB, user string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.createRoom(s.UserID(user), "dm"+user, true)
	s.direct[s.UserID(user)] = append(s.direct[s.UserID(user)], r.id)
	return r.id
}

// Joined reports whether the bot has joined the room named name.
func (s *Server) Joined(t testing.TB, name string) bool {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roomNamed(t, name).members[s.BotID()] == "join"
}

// WaitJoined waits until the bot has joined the room named name.
func (s *Server) WaitJoined(t testing.TB, name string) {
	t.Helper()
	s.wait(t, "the bot joining "+name, func() bool { return s.roomNamed(t, name).members[s.BotID()] == "join" })
}

// WaitSyncs waits until the bot has made n syncs.
func (s *Server) WaitSyncs(t testing.TB, n int) {
	t.Helper()
	s.wait(t, fmt.Sprintf("%d syncs", n), func() bool { return s.syncs >= n })
}

// Events returns the events of the room named name (or with that ID), oldest first.
func (s *Server) Events(t testing.TB, name string) []Event {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roomNamed(t, name)
	var out []Event
	for _, e := range s.events {
		if e.RoomID == r.id {
			out = append(out, *e)
		}
	}
	return out
}

// Media returns an uploaded file by its mxc:// URI.
func (s *Server) Media(uri string) (Media, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[uri]
	return m, ok
}

// Logins is how many logins succeeded.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Requests returns "METHOD /path" of every call so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// MessageContent is the content of an m.room.message event (what the fake reads).
type MessageContent struct {
	MsgType       string          `json:"msgtype"`
	Body          string          `json:"body"`
	Format        string          `json:"format,omitempty"`
	FormattedBody string          `json:"formatted_body,omitempty"`
	URL           string          `json:"url,omitempty"`
	RelatesTo     *RelatesTo      `json:"m.relates_to,omitempty"`
	NewContent    *MessageContent `json:"m.new_content,omitempty"`
}

// RelatesTo is an event's m.relates_to.
type RelatesTo struct {
	RelType       string `json:"rel_type,omitempty"`
	EventID       string `json:"event_id,omitempty"`
	Key           string `json:"key,omitempty"`
	IsFallingBack bool   `json:"is_falling_back,omitempty"`
	InReplyTo     *struct {
		EventID string `json:"event_id"`
	} `json:"m.in_reply_to,omitempty"`
}

// Seen is what a person sees of the bot's messages in the room named room,
// threads included, oldest first: each message's body, as last edited.
func (s *Server) Seen(t testing.TB, roomName string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roomNamed(t, roomName)
	var order []string
	bodies := map[string]string{}
	for _, e := range s.events {
		if e.RoomID != r.id || e.Sender != s.BotID() || e.Type != "m.room.message" {
			continue
		}
		var c MessageContent
		_ = json.Unmarshal(e.Content, &c)
		if c.RelatesTo != nil && c.RelatesTo.RelType == "m.replace" && c.NewContent != nil {
			if _, ok := bodies[c.RelatesTo.EventID]; ok {
				bodies[c.RelatesTo.EventID] = c.NewContent.Body
			}
			continue
		}
		order = append(order, e.EventID)
		bodies[e.EventID] = c.Body
	}
	out := make([]string, len(order))
	for i, id := range order {
		out[i] = bodies[id]
	}
	return out
}

// Limit makes the next n calls of endpoint ("send", "sync", "join",
// "upload", "login") answer 429 M_LIMIT_EXCEEDED with retry_after_ms; a
// /sync already waiting for news answers so at once.
func (s *Server) Limit(endpoint string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[endpoint] = &limit{n: n, retryAfter: retryAfter}
	s.notify() // a /sync waiting for news answers with it
}

// Fail makes the next n calls of endpoint answer 502 Bad Gateway with an
// HTML page, as a reverse proxy does while the homeserver is down; a /sync
// already waiting for news answers so at once.
func (s *Server) Fail(endpoint string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[endpoint] = &limit{n: n, status: http.StatusBadGateway}
	s.notify() // a /sync waiting for news answers with it
}

// ExpireTokens forgets every access token (the next call gets 401 M_UNKNOWN_TOKEN).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func matrixError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errcode": code, "error": msg})
}

const client = "/_matrix/client/v3"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_matrix/client/versions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"versions": []string{"v1.1", "v1.5", "v1.11"}, "unstable_features": map[string]bool{}})
	})
	mux.HandleFunc("POST "+client+"/login", s.limited("login", s.login))
	mux.HandleFunc("GET "+client+"/account/whoami", s.authed("whoami", s.whoami))
	mux.HandleFunc("GET "+client+"/sync", s.authed("sync", s.sync))
	mux.HandleFunc("POST "+client+"/join/{room}", s.authed("join", s.join))
	mux.HandleFunc("POST "+client+"/rooms/{room}/join", s.authed("join", s.join))
	mux.HandleFunc("GET "+client+"/directory/room/{alias}", s.authed("directory", s.directory))
	mux.HandleFunc("PUT "+client+"/rooms/{room}/send/{type}/{txn}", s.authed("send", s.send))
	mux.HandleFunc("POST /_matrix/media/v3/upload", s.authed("upload", s.upload))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		matrixError(w, http.StatusNotFound, "M_UNRECOGNIZED", "Unrecognized request")
	})
	return mux
}

// limited applies a Limit or Fail set for endpoint and records the call.
func (s *Server) limited(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		l := s.takeLimit(endpoint)
		s.mu.Unlock()
		if l != nil {
			writeLimit(w, l)
			return
		}
		h(w, r)
	}
}

// takeLimit consumes one call of endpoint's Limit or Fail, if any; s.mu held.
func (s *Server) takeLimit(endpoint string) *limit {
	l := s.limits[endpoint]
	if l == nil || l.n <= 0 {
		return nil
	}
	l.n--
	return l
}

// writeLimit answers as l says: a proxy's 502 page, or 429 M_LIMIT_EXCEEDED.
func writeLimit(w http.ResponseWriter, l *limit) {
	if l.status != 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(l.status)
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>\n")
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((l.retryAfter+time.Second-1)/time.Second)))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": l.retryAfter.Milliseconds()})
}

// authed checks the access token (header, or the deprecated query parameter).
func (s *Server) authed(endpoint string, h func(w http.ResponseWriter, r *http.Request, user string)) http.HandlerFunc {
	return s.limited(endpoint, func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			tok = r.URL.Query().Get("access_token")
		}
		if tok == "" {
			matrixError(w, http.StatusUnauthorized, "M_MISSING_TOKEN", "Missing access token")
			return
		}
		s.mu.Lock()
		user, ok := s.tokens[tok]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token passed.", "soft_logout": false})
			return
		}
		h(w, r, user)
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type       string `json:"type"`
		Identifier struct {
			Type string `json:"type"`
			User string `json:"user"`
		} `json:"identifier"`
		Password                 string `json:"password"`
		DeviceID                 string `json:"device_id"`
		InitialDeviceDisplayName string `json:"initial_device_display_name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		matrixError(w, http.StatusBadRequest, "M_NOT_JSON", "Content not JSON.")
		return
	}
	if body.Type != "m.login.password" {
		matrixError(w, http.StatusBadRequest, "M_UNKNOWN", "Unknown login type "+body.Type)
		return
	}
	if body.Identifier.Type != "m.id.user" {
		matrixError(w, http.StatusBadRequest, "M_UNKNOWN", "Unknown identifier type")
		return
	}
	user := body.Identifier.User
	if !strings.HasPrefix(user, "@") {
		user = s.UserID(user)
	}
	if user != s.BotID() || body.Password != s.opts.BotPassword {
		matrixError(w, http.StatusForbidden, "M_FORBIDDEN", "Invalid username or password")
		return
	}
	device := body.DeviceID
	if device == "" {
		device = "FAKEDEVICE"
	}
	s.mu.Lock()
	tok := s.newToken(user)
	s.logins++
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"user_id": user, "access_token": tok, "device_id": device, "home_server": s.opts.ServerName})
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, user string) {
	writeJSON(w, 200, map[string]any{"user_id": user, "device_id": "FAKEDEVICE", "is_guest": false})
}

func (s *Server) directory(w http.ResponseWriter, r *http.Request, user string) {
	s.mu.Lock()
	id, ok := s.aliases[r.PathValue("alias")]
	s.mu.Unlock()
	if !ok {
		matrixError(w, http.StatusNotFound, "M_NOT_FOUND", "Room alias "+r.PathValue("alias")+" not found")
		return
	}
	writeJSON(w, 200, map[string]any{"room_id": id, "servers": []string{s.opts.ServerName}})
}

func (s *Server) join(w http.ResponseWriter, r *http.Request, user string) {
	target := r.PathValue("room")
	s.mu.Lock()
	defer s.mu.Unlock()
	id := target
	if strings.HasPrefix(target, "#") {
		var ok bool
		if id, ok = s.aliases[target]; !ok {
			matrixError(w, http.StatusNotFound, "M_NOT_FOUND", "Room alias "+target+" not found")
			return
		}
	}
	rm, ok := s.rooms[id]
	if !ok {
		matrixError(w, http.StatusNotFound, "M_NOT_FOUND", "No known servers")
		return
	}
	if rm.alias == "" && rm.members[user] != "invite" && rm.members[user] != "join" {
		matrixError(w, http.StatusForbidden, "M_FORBIDDEN", "You are not invited to this room.")
		return
	}
	if rm.members[user] != "join" {
		s.state(rm, user, "m.room.member", user, map[string]any{"membership": "join", "displayname": displayName(user)})
	}
	writeJSON(w, 200, map[string]any{"room_id": id})
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, user string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEventSize+1))
	if err != nil {
		matrixError(w, http.StatusBadRequest, "M_UNKNOWN", err.Error())
		return
	}
	var content map[string]any
	if err := json.Unmarshal(body, &content); err != nil {
		matrixError(w, http.StatusBadRequest, "M_NOT_JSON", "Content not JSON.")
		return
	}
	if len(body) > maxEventSize-1024 { // the event around the content counts too
		matrixError(w, http.StatusRequestEntityTooLarge, "M_TOO_LARGE", "event too large")
		return
	}
	typ := r.PathValue("type")
	if typ == "m.room.message" {
		if _, ok := content["msgtype"].(string); !ok {
			matrixError(w, http.StatusBadRequest, "M_BAD_JSON", "msgtype must be a string")
			return
		}
		if _, ok := content["body"].(string); !ok {
			matrixError(w, http.StatusBadRequest, "M_BAD_JSON", "body must be a string")
			return
		}
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.txns[tok+"\x00"+r.PathValue("txn")]; ok {
		writeJSON(w, 200, map[string]any{"event_id": id})
		return
	}
	rm, ok := s.rooms[r.PathValue("room")]
	if !ok || rm.members[user] != "join" {
		matrixError(w, http.StatusForbidden, "M_FORBIDDEN", fmt.Sprintf("User %s not in room %s", user, r.PathValue("room")))
		return
	}
	e := s.appendEvent(rm, user, typ, json.RawMessage(body))
	e.Unsigned = map[string]any{"transaction_id": r.PathValue("txn")}
	s.txns[tok+"\x00"+r.PathValue("txn")] = e.EventID
	writeJSON(w, 200, map[string]any{"event_id": e.EventID})
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, user string) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 50<<20))
	if err != nil {
		matrixError(w, http.StatusBadRequest, "M_UNKNOWN", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	uri := fmt.Sprintf("mxc://%s/media%06d", s.opts.ServerName, s.seq)
	s.media[uri] = Media{ContentType: r.Header.Get("Content-Type"), Filename: r.URL.Query().Get("filename"), Data: data}
	writeJSON(w, 200, map[string]any{"content_uri": uri})
}

// sync answers GET /sync: since is "s" and a stream position.
func (s *Server) sync(w http.ResponseWriter, r *http.Request, user string) {
	q := r.URL.Query()
	since := 0
	if v := q.Get("since"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "s"))
		if err != nil || !strings.HasPrefix(v, "s") {
			matrixError(w, http.StatusBadRequest, "M_INVALID_PARAM", "Invalid since token")
			return
		}
		since = n
	}
	timeout := 0
	if v := q.Get("timeout"); v != "" {
		timeout, _ = strconv.Atoi(v)
	}
	limit := 10
	if f := q.Get("filter"); strings.HasPrefix(f, "{") {
		var filter struct {
			Room struct {
				Timeline struct {
					Limit *int `json:"limit"`
				} `json:"timeline"`
			} `json:"room"`
		}
		if err := json.Unmarshal([]byte(f), &filter); err != nil {
			matrixError(w, http.StatusBadRequest, "M_INVALID_PARAM", "filter is not valid JSON")
			return
		}
		if filter.Room.Timeline.Limit != nil {
			limit = *filter.Room.Timeline.Limit
		}
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Millisecond)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		resp, ready := s.syncResponse(user, since, limit)
		ch := s.changed
		s.mu.Unlock()
		if !ready && since > 0 {
			select {
			case <-ch:
				s.mu.Lock()
				l := s.takeLimit("sync")
				s.mu.Unlock()
				if l != nil {
					writeLimit(w, l)
					return
				}
				continue
			case <-deadline.C:
			case <-r.Context().Done():
				return
			}
		}
		s.mu.Lock()
		s.syncs++
		s.notify()
		s.mu.Unlock()
		writeJSON(w, 200, resp)
		return
	}
}

// syncResponse is what user gets for the events after since; s.mu held.
func (s *Server) syncResponse(user string, since, limit int) (resp map[string]any, ready bool) {
	join := map[string]any{}
	invite := map[string]any{}
	for _, rm := range s.rooms {
		var evs []*Event
		var stateNow []*Event
		joinedAt := 0
		for _, e := range s.events {
			if e.RoomID != rm.id {
				continue
			}
			if e.StateKey != nil {
				stateNow = append(stateNow, e)
				if *e.StateKey == user && e.Type == "m.room.member" {
					joinedAt = e.pos
				}
			}
			if e.pos > since {
				evs = append(evs, e)
			}
		}
		switch rm.members[user] {
		case "join":
			if since > 0 && len(evs) == 0 {
				continue
			}
			limited := len(evs) > limit
			var state []*Event
			if limited {
				cut := evs[:len(evs)-limit]
				evs = evs[len(evs)-limit:]
				for _, e := range cut {
					if e.StateKey != nil {
						state = append(state, e)
					}
				}
			}
			if since == 0 || joinedAt > since { // a room new to the client: its whole state
				state = nil
				for _, e := range stateNow {
					if !slices.Contains(evs, e) {
						state = append(state, e)
					}
				}
			}
			join[rm.id] = map[string]any{
				"timeline":             map[string]any{"events": orEmpty(evs), "limited": limited, "prev_batch": fmt.Sprintf("t%d", since)},
				"state":                map[string]any{"events": orEmpty(state)},
				"account_data":         map[string]any{"events": []any{}},
				"ephemeral":            map[string]any{"events": []any{}},
				"unread_notifications": map[string]any{"highlight_count": 0, "notification_count": 0},
			}
			ready = true
		case "invite":
			if since > 0 && len(evs) == 0 {
				continue
			}
			var stripped []map[string]any
			for _, e := range stateNow {
				stripped = append(stripped, map[string]any{"type": e.Type, "state_key": *e.StateKey, "sender": e.Sender, "content": e.Content})
			}
			invite[rm.id] = map[string]any{"invite_state": map[string]any{"events": stripped}}
			ready = true
		}
	}
	resp = map[string]any{
		"next_batch": fmt.Sprintf("s%d", len(s.events)),
		"rooms":      map[string]any{"join": join, "invite": invite, "leave": map[string]any{}},
		"presence":   map[string]any{"events": []any{}},
	}
	if user == s.BotID() && len(s.direct) > 0 {
		resp["account_data"] = map[string]any{"events": []any{map[string]any{"type": "m.direct", "content": s.direct}}}
	}
	return resp, ready
}

// orEmpty is evs as the sync API gives them: never null, without room_id.
func orEmpty(evs []*Event) []Event {
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = *e
		out[i].RoomID = ""
	}
	return out
}
