package teams

import (
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// maxActivity bounds an inbound activity's body.
const maxActivity = 1 << 20

// The keys of an Action.Submit button's data.
const (
	dataButton = "opsbot_button"
	dataValue  = "opsbot_value"
)

// MessagesHandler is the bot's messaging endpoint. A request without a
// bearer token, or whose token does not verify, is refused with 401; a
// body that is not an activity with 400 naming the field; an accepted
// message (or card button click) is queued for Run and answered 200.
// Other activity types (conversation updates, typing…) are answered 200
// and ignored.
func (a *Adapter) MessagesHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if auth == "" {
			httpError(w, http.StatusUnauthorized, "Authorization: a Bot Framework bearer token is required")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActivity))
		if err != nil {
			httpError(w, http.StatusRequestEntityTooLarge, "body: larger than 1 MiB")
			return
		}
		var act activity
		if err := json.Unmarshal(body, &act); err != nil {
			httpError(w, http.StatusBadRequest, "body: not a Bot Framework activity: "+err.Error())
			return
		}
		if act.ServiceURL == "" {
			httpError(w, http.StatusBadRequest, "serviceUrl: is required")
			return
		}
		if err := a.verifier.verify(r.Context(), auth, act.ServiceURL, act.ChannelID); err != nil {
			if errors.Is(err, errUnauthorized) {
				a.log.Warn("teams: refused a request", "err", err, "remote", r.RemoteAddr)
				httpError(w, http.StatusUnauthorized, "Authorization: the token does not verify")
				return
			}
			a.log.Error("teams: cannot verify requests", "err", err)
			httpError(w, http.StatusServiceUnavailable, "the signing keys are unavailable")
			return
		}
		switch {
		case act.Type == "":
			httpError(w, http.StatusBadRequest, "type: is required")
			return
		case act.Conversation == nil || act.Conversation.ID == "":
			httpError(w, http.StatusBadRequest, "conversation.id: is required")
			return
		case act.From == nil || act.From.ID == "":
			httpError(w, http.StatusBadRequest, "from.id: is required")
			return
		}
		base, _ := splitConversation(act.Conversation.ID)
		userID := act.From.AADObjectID
		if userID == "" {
			userID = act.From.ID
		}
		a.remember(base, act.ServiceURL, act.Conversation.ConversationType, userID, act.From.Name)
		if act.Type != "message" {
			w.WriteHeader(http.StatusOK)
			return
		}
		if act.ID == "" {
			httpError(w, http.StatusBadRequest, "id: is required")
			return
		}
		m, ok := a.message(act)
		if !ok {
			w.WriteHeader(http.StatusOK)
			return
		}
		select {
		case a.inbound <- m:
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
			httpError(w, http.StatusServiceUnavailable, "the bot is not taking messages")
		}
	})
}

// message turns a verified message activity into a chat message; ok is
// false for what is not for the bot (its own messages, empty ones).
func (a *Adapter) message(act activity) (chat.Message, bool) {
	if act.Recipient != nil && act.From.ID == act.Recipient.ID {
		return chat.Message{}, false
	}
	base, root := splitConversation(act.Conversation.ID)
	room := chat.Room{Adapter: Name, ID: base, Name: act.Conversation.Name}
	if cd := act.ChannelData; cd != nil && cd.Channel != nil && cd.Channel.Name != "" {
		room.Name = cd.Channel.Name
	}
	userID := act.From.AADObjectID
	if userID == "" {
		userID = act.From.ID
	}
	m := chat.Message{
		ID:     base + "/" + act.ID,
		Room:   room,
		From:   chat.Identity{Adapter: Name, ID: userID, Name: act.From.Name},
		Direct: act.Conversation.ConversationType == "personal",
	}
	if root == "" && act.Conversation.ConversationType == "channel" {
		root = act.ReplyToID
	}
	if root != "" && root != act.ID {
		m.Thread = chat.Ref{Room: room, ID: root, Thread: root}
	}
	if len(act.Value) > 0 && act.Text == "" {
		var data map[string]any
		if json.Unmarshal(act.Value, &data) != nil {
			return chat.Message{}, false
		}
		id, _ := data[dataButton].(string)
		value, _ := data[dataValue].(string)
		if value == "" {
			return chat.Message{}, false
		}
		m.Text, m.Action = value, &chat.Action{ID: id, Value: value}
		return m, true
	}
	text := act.Text
	for _, e := range act.Entities {
		if e.Type == "mention" && e.Mentioned != nil && act.Recipient != nil && e.Mentioned.ID == act.Recipient.ID && e.Text != "" {
			// Mentioning the bot addresses it, as a direct message does
			// (Teams sends a bot only the channel messages that mention it).
			text = strings.Replace(text, e.Text, "", 1)
			m.Direct = true
		}
	}
	m.Text = plainText(text)
	if m.Text == "" {
		return chat.Message{}, false
	}
	return m, true
}

// plainText drops HTML tags from a Teams message text, turns line breaks
// and paragraphs into newlines and decodes entities.
func plainText(s string) string {
	if strings.ContainsRune(s, '<') {
		var b strings.Builder
		for {
			i := strings.IndexByte(s, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				break
			}
			b.WriteString(s[:i])
			tag := strings.ToLower(strings.Trim(s[i+1:i+j], "/ "))
			if tag == "br" || tag == "p" || strings.HasPrefix(tag, "p ") || tag == "div" {
				b.WriteByte('\n')
			}
			s = s[i+j+1:]
		}
		b.WriteString(s)
		s = b.String()
	}
	s = strings.ReplaceAll(html.UnescapeString(s), "\u00a0", " ")
	return strings.TrimSpace(s)
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
