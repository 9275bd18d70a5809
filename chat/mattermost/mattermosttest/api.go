package mattermosttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxMessageRunes is Mattermost's limit on a post's message.
const maxMessageRunes = 16383

// rateLimit is the fake's advertised limit (Mattermost's default RateLimitSettings.PerSec).
const rateLimit = 10

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/websocket", s.websocket)
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v4/users/me", s.me)
	api.HandleFunc("GET /api/v4/users/{id}", s.userByID)
	api.HandleFunc("GET /api/v4/teams/name/{name}", s.teamByName)
	api.HandleFunc("GET /api/v4/teams/{team}/channels/name/{name}", s.channelByName)
	api.HandleFunc("POST /api/v4/channels/{id}/members", s.join)
	api.HandleFunc("POST /api/v4/posts", s.createPost)
	api.HandleFunc("PUT /api/v4/posts/{id}/patch", s.patchPost)
	api.HandleFunc("POST /api/v4/reactions", s.react)
	api.HandleFunc("POST /api/v4/files", s.uploadFile)
	s.api = api
	mux.Handle("/api/v4/", s.limited(api))
	return mux
}

// session returns the user a request's token names, or answers 401.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*User, bool) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, _ = strings.CutPrefix(auth, "Token ")
	}
	s.mu.Lock()
	u := s.users[s.tokens[token]]
	s.mu.Unlock()
	if token == "" || u == nil {
		appError(w, http.StatusUnauthorized, "api.context.session_expired.app_error", "Invalid or expired session, please login again.")
		return nil, false
	}
	return u, true
}

// limited adds the X-Ratelimit headers and refuses throttled requests with 429.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		throttled := s.throttled > 0
		if throttled {
			s.throttled--
		}
		retry := s.retry
		s.mu.Unlock()
		w.Header().Set("X-Ratelimit-Limit", strconv.Itoa(rateLimit))
		if throttled {
			w.Header().Set("X-Ratelimit-Remaining", "0")
			w.Header().Set("X-Ratelimit-Reset", strconv.Itoa(retry))
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			http.Error(w, "limit exceeded", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("X-Ratelimit-Remaining", strconv.Itoa(rateLimit-1))
		w.Header().Set("X-Ratelimit-Reset", "1")
		next.ServeHTTP(w, r)
	})
}

func appError(w http.ResponseWriter, status int, id, msg string) {
	writeJSON(w, status, map[string]any{"id": id, "message": msg, "detailed_error": "", "request_id": NewID(), "status_code": status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	if u, ok := s.session(w, r); ok {
		writeJSON(w, http.StatusOK, u)
	}
}

func (s *Server) userByID(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	s.mu.Lock()
	u := s.users[r.PathValue("id")]
	s.mu.Unlock()
	if u == nil {
		appError(w, http.StatusNotFound, "app.user.missing_account.const", "Unable to find the user.")
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) teamByName(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.teams {
		if t.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, t)
			return
		}
	}
	appError(w, http.StatusNotFound, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.")
}

func (s *Server) channelByName(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.channels {
		if c.TeamID == r.PathValue("team") && c.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, c)
			return
		}
	}
	appError(w, http.StatusNotFound, "app.channel.get_by_name.missing.app_error", "Channel does not exist.")
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	u, ok := s.session(w, r)
	if !ok {
		return
	}
	var body struct {
		UserID string `json:"user_id"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.UserID == "" {
		appError(w, http.StatusBadRequest, "api.context.invalid_body_param.app_error", "Invalid or missing user_id in request body.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[r.PathValue("id")]
	switch {
	case c == nil:
		appError(w, http.StatusNotFound, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
	case body.UserID != u.ID || c.Type != "O":
		appError(w, http.StatusForbidden, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
	default:
		c.members[u.ID] = true
		writeJSON(w, http.StatusCreated, map[string]string{"channel_id": c.ID, "user_id": u.ID})
	}
}

func (s *Server) createPost(w http.ResponseWriter, r *http.Request) {
	u, ok := s.session(w, r)
	if !ok {
		return
	}
	var in Post
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		appError(w, http.StatusBadRequest, "api.context.invalid_body_param.app_error", "Invalid or missing post in request body.")
		return
	}
	if utf8.RuneCountInString(in.Message) > maxMessageRunes {
		appError(w, http.StatusBadRequest, "model.post.is_valid.message_length.app_error", "Post Message property is longer than the maximum permitted length.")
		return
	}
	s.mu.Lock()
	c := s.channels[in.ChannelID]
	var fail func()
	switch {
	case c == nil || !c.members[u.ID]:
		fail = func() {
			appError(w, http.StatusForbidden, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		}
	case in.RootID != "" && (s.posts[in.RootID] == nil || s.posts[in.RootID].ChannelID != c.ID):
		fail = func() {
			appError(w, http.StatusBadRequest, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.")
		}
	}
	for _, f := range in.FileIDs {
		if _, ok := s.files[f]; !ok && fail == nil {
			fail = func() {
				appError(w, http.StatusBadRequest, "api.post.create_post.file_ids.app_error", "Invalid file IDs.")
			}
		}
	}
	if fail != nil {
		s.mu.Unlock()
		fail()
		return
	}
	if root := s.posts[in.RootID]; root != nil && root.RootID != "" {
		in.RootID = root.RootID // a reply to a reply is in the root's thread
	}
	p := &Post{ID: NewID(), CreateAt: now(), UpdateAt: now(), UserID: u.ID, ChannelID: c.ID, RootID: in.RootID,
		Message: in.Message, Props: in.Props, FileIDs: in.FileIDs}
	if p.Props == nil {
		p.Props = map[string]any{}
	}
	s.posts[p.ID] = p
	s.order = append(s.order, p.ID)
	out := clonePost(p)
	s.broadcastPosted(c, u, out)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) patchPost(w http.ResponseWriter, r *http.Request) {
	u, ok := s.session(w, r)
	if !ok {
		return
	}
	var in struct {
		Message *string        `json:"message"`
		Props   map[string]any `json:"props"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		appError(w, http.StatusBadRequest, "api.context.invalid_body_param.app_error", "Invalid or missing patch in request body.")
		return
	}
	s.mu.Lock()
	p := s.posts[r.PathValue("id")]
	switch {
	case p == nil:
		s.mu.Unlock()
		appError(w, http.StatusNotFound, "app.post.get.app_error", "Unable to get the post.")
		return
	case p.UserID != u.ID:
		s.mu.Unlock()
		appError(w, http.StatusForbidden, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	if in.Message != nil {
		p.Message = *in.Message
	}
	if in.Props != nil {
		p.Props = in.Props
	}
	p.EditAt, p.UpdateAt = now(), now()
	out := clonePost(p)
	s.broadcast(s.channels[p.ChannelID], "post_edited", map[string]any{"post": mustJSON(out)})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) react(w http.ResponseWriter, r *http.Request) {
	u, ok := s.session(w, r)
	if !ok {
		return
	}
	var in Reaction
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.PostID == "" || in.EmojiName == "" {
		appError(w, http.StatusBadRequest, "api.context.invalid_body_param.app_error", "Invalid or missing reaction in request body.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.posts[in.PostID]
	switch {
	case in.UserID != u.ID:
		appError(w, http.StatusForbidden, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
	case p == nil:
		appError(w, http.StatusNotFound, "app.post.get.app_error", "Unable to get the post.")
	default:
		in.CreateAt = now()
		s.reactions = append(s.reactions, in)
		s.broadcast(s.channels[p.ChannelID], "reaction_added", map[string]any{"reaction": mustJSON(in)})
		writeJSON(w, http.StatusCreated, in)
	}
}

func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request) {
	u, ok := s.session(w, r)
	if !ok {
		return
	}
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		appError(w, http.StatusBadRequest, "api.file.upload_file.bad_parse.app_error", "Unable to upload file. Header cannot be parsed.")
		return
	}
	chID := r.FormValue("channel_id")
	s.mu.Lock()
	c := s.channels[chID]
	member := c != nil && c.members[u.ID]
	s.mu.Unlock()
	if !member {
		appError(w, http.StatusForbidden, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	var infos []map[string]any
	for _, fh := range r.MultipartForm.File["files"] {
		f, err := fh.Open()
		if err != nil {
			appError(w, http.StatusBadRequest, "api.file.upload_file.bad_parse.app_error", err.Error())
			return
		}
		data, _ := io.ReadAll(f)
		f.Close()
		file := File{ID: NewID(), Name: fh.Filename, ChannelID: chID, Data: data}
		s.mu.Lock()
		s.files[file.ID] = file
		s.mu.Unlock()
		infos = append(infos, map[string]any{"id": file.ID, "user_id": u.ID, "channel_id": chID, "name": file.Name, "size": len(data)})
	}
	if len(infos) == 0 {
		appError(w, http.StatusBadRequest, "api.file.upload_file.no_files.app_error", "No files in the request.")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"file_infos": infos, "client_ids": []string{}})
}

// request makes an API request as u against the fake and decodes the answer.
func (s *Server) request(t testing.TB, u *User, method, path string, body, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req := httptest.NewRequest(method, path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+u.Token)
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, req) // as a person's client: not counted, never throttled
	if out != nil && rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("mattermosttest: decode %s %s: %v", method, path, err)
		}
	}
	return rec.Code
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
