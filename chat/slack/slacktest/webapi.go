package slacktest

import (
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// reply is a Web API answer: {"ok": true, …} or {"ok": false, "error": …}.
type reply map[string]any

func fail(code string) reply { return reply{"ok": false, "error": code} }

// api wraps a Web API method: it counts the call, answers 429 with
// Retry-After when a rate limit was set, checks the bot token (a bearer
// header or the token field) and writes the method's JSON answer with 200,
// as Slack does for errors too.
func (s *Server) api(method func(r *http.Request) reply) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if err := r.ParseForm(); err != nil {
			writeJSON(w, fail("invalid_form_data"))
			return
		}
		if s.limit(w, name) {
			return
		}
		if token(r) != BotToken {
			writeJSON(w, fail("invalid_auth"))
			return
		}
		writeJSON(w, method(r))
	}
}

func (s *Server) limit(w http.ResponseWriter, method string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	if q := s.limited[method]; len(q) > 0 {
		s.limited[method] = q[1:]
		w.Header().Set("Retry-After", strconv.Itoa(q[0]))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
		return true
	}
	return false
}

func token(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	return r.Form.Get("token")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) authTest(*http.Request) reply {
	return reply{"ok": true, "url": "https://opsbot-test.slack.test/", "team": "Opsbot Test", "user": "opsbot",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false}
}

// appsConnectionsOpen takes the app-level token and returns a Socket Mode URL.
func (s *Server) appsConnectionsOpen(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if s.limit(w, "apps.connections.open") {
		return
	}
	switch token(r) {
	case AppToken:
	case BotToken:
		writeJSON(w, fail("not_allowed_token_type"))
		return
	default:
		writeJSON(w, fail("invalid_auth"))
		return
	}
	s.mu.Lock()
	s.opens++
	failing := s.failOpen > 0
	if failing {
		s.failOpen--
	}
	n := s.opens
	s.mu.Unlock()
	if failing {
		writeJSON(w, fail("internal_error"))
		return
	}
	writeJSON(w, reply{"ok": true, "url": "ws://" + s.up.ServerAddr + "/socket?ticket=" + itoa(n)})
}

// resolveChannel finds the channel a method names: an ID, a name, or a
// user ID (the bot's direct messages with that user).
func (s *Server) resolveChannelLocked(ref string) (*Channel, string) {
	if ref == "" {
		return nil, "channel_not_found"
	}
	if c, ok := s.channels[ref]; ok {
		return c, ""
	}
	if id := s.channelByNameLocked(strings.TrimPrefix(ref, "#")); id != "" {
		return s.channels[id], ""
	}
	if _, ok := s.users[ref]; ok {
		return s.imLocked(ref), ""
	}
	return nil, "channel_not_found"
}

// imLocked is the direct message channel between the bot and user.
func (s *Server) imLocked(user string) *Channel {
	for _, c := range s.channels {
		if c.IM && c.User == user {
			return c
		}
	}
	id := "D0" + strings.TrimPrefix(user, "U0")
	c := &Channel{ID: id, IM: true, User: user, BotMember: true}
	s.channels[id] = c
	return c
}

// content reads text, blocks and attachments, checking what Slack checks.
func content(r *http.Request) (text string, blocks slack.Blocks, atts []slack.Attachment, code string) {
	text = r.Form.Get("text")
	if b := r.Form.Get("blocks"); b != "" {
		if err := json.Unmarshal([]byte(b), &blocks); err != nil {
			return "", blocks, nil, "invalid_blocks_format"
		}
	}
	if a := r.Form.Get("attachments"); a != "" {
		if err := json.Unmarshal([]byte(a), &atts); err != nil {
			return "", blocks, nil, "invalid_attachments"
		}
		if len(atts) > 100 {
			return "", blocks, nil, "too_many_attachments"
		}
	}
	if text == "" && len(blocks.BlockSet) == 0 && len(atts) == 0 {
		return "", blocks, nil, "no_text"
	}
	if utf8.RuneCountInString(text) > 40000 {
		return "", blocks, nil, "msg_too_long"
	}
	if code := checkBlocks(blocks); code != "" {
		return "", blocks, nil, code
	}
	for _, a := range atts {
		if code := checkBlocks(a.Blocks); code != "" {
			return "", blocks, nil, code
		}
	}
	return text, blocks, atts, ""
}

// checkBlocks enforces the Block Kit limits the adapter must keep.
func checkBlocks(b slack.Blocks) string {
	if len(b.BlockSet) > 50 {
		return "invalid_blocks"
	}
	ids := map[string]bool{}
	for _, blk := range b.BlockSet {
		if id := blockID(blk); id != "" {
			if ids[id] || len(id) > 255 {
				return "invalid_blocks"
			}
			ids[id] = true
		}
		switch x := blk.(type) {
		case *slack.SectionBlock:
			if x.Text == nil && len(x.Fields) == 0 {
				return "invalid_blocks"
			}
			if x.Text != nil && (utf8.RuneCountInString(x.Text.Text) > 3000 || x.Text.Text == "") {
				return "invalid_blocks"
			}
			if len(x.Fields) > 10 {
				return "invalid_blocks"
			}
			for _, f := range x.Fields {
				if utf8.RuneCountInString(f.Text) > 2000 {
					return "invalid_blocks"
				}
			}
		case *slack.ContextBlock:
			if len(x.ContextElements.Elements) > 10 || len(x.ContextElements.Elements) == 0 {
				return "invalid_blocks"
			}
		case *slack.ActionBlock:
			if x.Elements == nil || len(x.Elements.ElementSet) > 25 || len(x.Elements.ElementSet) == 0 {
				return "invalid_blocks"
			}
			actions := map[string]bool{}
			for _, e := range x.Elements.ElementSet {
				btn, ok := e.(*slack.ButtonBlockElement)
				if !ok {
					continue
				}
				if btn.Text == nil || utf8.RuneCountInString(btn.Text.Text) > 75 || len(btn.Value) > 2000 ||
					actions[btn.ActionID] || len(btn.ActionID) > 255 {
					return "invalid_blocks"
				}
				if btn.Style != "" && btn.Style != slack.StylePrimary && btn.Style != slack.StyleDanger {
					return "invalid_blocks"
				}
				actions[btn.ActionID] = true
			}
		case *slack.ImageBlock:
			if x.ImageURL == "" || x.AltText == "" {
				return "invalid_blocks"
			}
		}
	}
	return ""
}

func blockID(b slack.Block) string {
	switch x := b.(type) {
	case *slack.SectionBlock:
		return x.BlockID
	case *slack.ContextBlock:
		return x.BlockID
	case *slack.ActionBlock:
		return x.BlockID
	case *slack.ImageBlock:
		return x.BlockID
	}
	return ""
}

func (s *Server) postMessage(r *http.Request) reply {
	text, blocks, atts, code := content(r)
	if code != "" {
		return fail(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, code := s.resolveChannelLocked(r.Form.Get("channel"))
	if code != "" {
		return fail(code)
	}
	if !c.BotMember {
		return fail("not_in_channel")
	}
	thread := r.Form.Get("thread_ts")
	if thread != "" && s.findLocked(c.ID, thread) == nil {
		return fail("thread_not_found")
	}
	m := &Message{Channel: c.ID, TS: s.nextTSLocked(), ThreadTS: thread, User: BotUserID, Text: text, Blocks: blocks, Attachments: atts}
	s.messages = append(s.messages, m)
	return reply{"ok": true, "channel": c.ID, "ts": m.TS, "message": reply{"type": "message", "text": text, "user": BotUserID, "bot_id": BotID, "ts": m.TS}}
}

func (s *Server) update(r *http.Request) reply {
	text, blocks, atts, code := content(r)
	if code != "" {
		return fail(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, code := s.resolveChannelLocked(r.Form.Get("channel"))
	if code != "" {
		return fail(code)
	}
	m := s.findLocked(c.ID, r.Form.Get("ts"))
	if m == nil {
		return fail("message_not_found")
	}
	if m.User != BotUserID {
		return fail("cant_update_message")
	}
	// Slack keeps the blocks and attachments an update leaves out.
	m.Text, m.Edited = text, true
	if _, ok := r.Form["blocks"]; ok {
		m.Blocks = blocks
	}
	if _, ok := r.Form["attachments"]; ok {
		m.Attachments = atts
	}
	return reply{"ok": true, "channel": c.ID, "ts": m.TS, "text": text}
}

func (s *Server) postEphemeral(r *http.Request) reply {
	text, blocks, atts, code := content(r)
	if code != "" {
		return fail(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, code := s.resolveChannelLocked(r.Form.Get("channel"))
	if code != "" {
		return fail(code)
	}
	user := r.Form.Get("user")
	if _, ok := s.users[user]; !ok {
		return fail("user_not_found")
	}
	s.ephemerals = append(s.ephemerals, Ephemeral{Channel: c.ID, User: user, ThreadTS: r.Form.Get("thread_ts"), Text: text, Blocks: blocks, Attachments: atts})
	return reply{"ok": true, "message_ts": s.nextTSLocked()}
}

func (s *Server) reactionsAdd(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ts, name := r.Form.Get("channel"), r.Form.Get("timestamp"), r.Form.Get("name")
	if name == "" || strings.Contains(name, ":") {
		return fail("invalid_name")
	}
	if s.findLocked(ch, ts) == nil {
		return fail("message_not_found")
	}
	for _, x := range s.reactions {
		if x == (Reaction{ch, ts, name}) {
			return fail("already_reacted")
		}
	}
	s.reactions = append(s.reactions, Reaction{ch, ts, name})
	return reply{"ok": true}
}

func (s *Server) usersInfo(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.Form.Get("user")
	name, ok := s.users[id]
	if !ok {
		return fail("user_not_found")
	}
	return reply{"ok": true, "user": reply{"id": id, "team_id": TeamID, "name": name, "real_name": strings.ToUpper(name[:1]) + name[1:],
		"is_bot": id == BotUserID, "profile": reply{"display_name": name, "real_name": strings.ToUpper(name[:1]) + name[1:]}}}
}

func (s *Server) channelJSON(c *Channel) reply {
	return reply{"id": c.ID, "name": c.Name, "is_channel": !c.Private && !c.IM, "is_group": c.Private, "is_im": c.IM,
		"is_private": c.Private || c.IM, "is_member": c.BotMember, "is_archived": false}
}

// conversationsList pages through the channels, limit at a time, with
// Slack's cursor.
func (s *Server) conversationsList(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, c := range s.channels {
		if !c.IM {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	start, _ := strconv.Atoi(r.Form.Get("cursor"))
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	end := min(start+limit, len(ids))
	var out []reply
	for _, id := range ids[min(start, len(ids)):end] {
		out = append(out, s.channelJSON(s.channels[id]))
	}
	next := ""
	if end < len(ids) {
		next = strconv.Itoa(end)
	}
	return reply{"ok": true, "channels": out, "response_metadata": reply{"next_cursor": next}}
}

func (s *Server) conversationsInfo(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[r.Form.Get("channel")]
	if !ok {
		return fail("channel_not_found")
	}
	return reply{"ok": true, "channel": s.channelJSON(c)}
}

func (s *Server) getUploadURL(r *http.Request) reply {
	name, length := r.Form.Get("filename"), r.Form.Get("length")
	if n, err := strconv.Atoi(length); name == "" || err != nil || n <= 0 {
		return fail("invalid_arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextIDLocked("F")
	s.files[id] = &File{ID: id, Name: name}
	return reply{"ok": true, "upload_url": s.APIURL() + "upload/" + id, "file_id": id}
}

// uploadFile receives the file's bytes at its upload URL (multipart, field
// "file", or a raw body).
func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	var data []byte
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "file" {
				data, _ = io.ReadAll(p)
			}
		}
	} else {
		data, _ = io.ReadAll(r.Body)
	}
	s.mu.Lock()
	f, ok := s.files[id]
	if ok {
		f.Content = data
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "no such upload", http.StatusNotFound)
		return
	}
	_, _ = w.Write([]byte("OK - " + strconv.Itoa(len(data))))
}

// completeUpload shares uploaded files in a channel (and thread): each
// appears there as a message from the bot.
func (s *Server) completeUpload(r *http.Request) reply {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(r.Form.Get("files")), &files); err != nil || len(files) == 0 {
		return fail("invalid_arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *Channel
	if ch := r.Form.Get("channel_id"); ch != "" {
		var code string
		if c, code = s.resolveChannelLocked(ch); code != "" {
			return fail(code)
		}
		if !c.BotMember {
			return fail("not_in_channel")
		}
	}
	var out []reply
	for _, f := range files {
		file, ok := s.files[f.ID]
		if !ok || file.Content == nil {
			return fail("file_not_found")
		}
		file.Title = f.Title
		if c != nil {
			file.Channel, file.ThreadTS = c.ID, r.Form.Get("thread_ts")
			s.messages = append(s.messages, &Message{Channel: c.ID, TS: s.nextTSLocked(), ThreadTS: file.ThreadTS,
				User: BotUserID, Text: r.Form.Get("initial_comment"), File: file})
		}
		out = append(out, reply{"id": f.ID, "title": f.Title})
	}
	return reply{"ok": true, "files": out}
}

func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// response is where a slash command's response_url answers, and how often
// it was used (Slack allows 5 uses in 30 minutes).
type response struct {
	channel, user string
	uses          int
}

// responseURL takes a message posted to a slash command's response_url
// (JSON): in_channel shows it in the channel whether or not the bot is a
// member, ephemeral (the default) to the person who ran the command.
func (s *Server) responseURL(w http.ResponseWriter, r *http.Request) {
	trigger := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	var msg struct {
		Text         string             `json:"text"`
		Blocks       slack.Blocks       `json:"blocks"`
		Attachments  []slack.Attachment `json:"attachments"`
		ResponseType string             `json:"response_type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, ok := s.responses[trigger]
	if !ok || resp.uses >= 5 {
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	}
	resp.uses++
	if msg.ResponseType == "in_channel" {
		s.messages = append(s.messages, &Message{Channel: resp.channel, TS: s.nextTSLocked(), User: BotUserID,
			Text: msg.Text, Blocks: msg.Blocks, Attachments: msg.Attachments})
	} else {
		s.ephemerals = append(s.ephemerals, Ephemeral{Channel: resp.channel, User: resp.user, Text: msg.Text,
			Blocks: msg.Blocks, Attachments: msg.Attachments})
	}
	_, _ = w.Write([]byte("ok"))
}
