package mattermost

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/opsbot/opsbot/chat"
)

// The keys of a button's integration context.
const (
	ctxButton = "opsbot_button"
	ctxValue  = "opsbot_value"
	ctxSig    = "opsbot_sig"
)

// maxActionBody bounds a click request.
const maxActionBody = 64 << 10

// sign is the HMAC-SHA256 of a button's ID and value under the action
// secret: only the Mattermost server, which keeps a post's integration
// context to itself, can send it back.
func (a *Adapter) sign(id, value string) string {
	m := hmac.New(sha256.New, a.actionKey)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ActionHandler takes button clicks: the Mattermost server POSTs the
// clicker and the button's context to action_url. A click whose context
// does not carry a valid signature is refused with 401; an accepted one
// arrives as a message with Action set and Text the button's value, and is
// answered with an empty update (the post stays as it is).
func (a *Adapter) ActionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req actionRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxActionBody))
		if err := dec.Decode(&req); err != nil {
			httpError(w, http.StatusBadRequest, "body: not a Mattermost action request: "+err.Error())
			return
		}
		id, _ := req.Context[ctxButton].(string)
		value, _ := req.Context[ctxValue].(string)
		sig, _ := req.Context[ctxSig].(string)
		if sig == "" || !hmac.Equal([]byte(sig), []byte(a.sign(id, value))) {
			a.log.Warn("mattermost: refused a button click without a valid signature", "user_id", req.UserID, "post_id", req.PostID)
			httpError(w, http.StatusUnauthorized, "context: the button's signature is missing or wrong")
			return
		}
		switch {
		case req.UserID == "":
			httpError(w, http.StatusBadRequest, "user_id: is required")
			return
		case req.ChannelID == "":
			httpError(w, http.StatusBadRequest, "channel_id: is required")
			return
		case req.PostID == "":
			httpError(w, http.StatusBadRequest, "post_id: is required")
			return
		}
		room := chat.Room{Adapter: Name, ID: req.ChannelID, Name: req.ChannelName}
		m := chat.Message{
			ID:     "action:" + req.PostID + ":" + req.TriggerID + ":" + req.UserID + ":" + id,
			Room:   room,
			From:   chat.Identity{Adapter: Name, ID: req.UserID, Name: req.UserName},
			Text:   value,
			Action: &chat.Action{ID: id, Value: value},
		}
		if err := a.enqueue(r.Context(), m); err != nil {
			httpError(w, http.StatusServiceUnavailable, "the bot is not taking messages")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(actionResponse{})
	})
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
