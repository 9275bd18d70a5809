package teams

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// Outgoing webhooks ("Create an Outgoing Webhook" in a team's Apps tab)
// let a team talk to opsbot without installing a bot: when someone
// @mentions the webhook in a channel, Teams POSTs the message (a Bot
// Framework activity) to the callback URL — /hooks/teams, the bot's
// messaging endpoint, told apart by its `Authorization: HMAC <signature>`
// (the bot's carry `Bearer`) — and shows the HTTP response as the reply,
// if it comes within five seconds. The signature is the base64 of the
// HMAC-SHA256 of the raw body, keyed with the base64-decoded security
// token Teams showed when the webhook was created.
//
// The adapter hands the message to the bot (in the message's reply chain)
// and holds the request until the bot's first post in that reply chain
// (at most reply_wait), which becomes the response; without one in time
// the response says the bot is working on it. Posts after the response cannot use the request: they go
// to the channel's incoming webhook if `webhooks` has one for the
// conversation ID, else they fail for good with an error saying so.

// DefaultReplyWait is how long a request waits for the bot's answer: Teams
// waits five seconds for the response.
const DefaultReplyWait = 4 * time.Second

// maxReplyWait keeps the response within Teams' five seconds.
const maxReplyWait = 4500 * time.Millisecond

// OutgoingWebhook is one outgoing webhook of a team.
type OutgoingWebhook struct {
	// Secret is the security token Teams shows once when the webhook is
	// created (base64); never logged.
	Secret config.Secret `yaml:"secret"`
}

// workingText answers a request the bot did not answer within reply_wait.
const (
	workingText      = "Working on it: the answer will follow in this channel."
	workingNoWebhook = "Working on it, but the answer cannot be posted here: this channel has no incoming webhook in opsbot's `adapters.teams.webhooks`."
	emptyText        = "Say a command after the mention, for example `help`."
)

// validateOutgoing checks the outgoing_webhooks and reply_wait keys.
func (c Config) validateOutgoing(errs *config.FieldErrors) {
	for name, w := range c.OutgoingWebhooks {
		key := config.Path("outgoing_webhooks", name, "secret")
		switch k, err := base64.StdEncoding.DecodeString(w.Secret.Reveal()); {
		case name == "" || strings.ContainsAny(name, " ;"):
			errs.Add(config.Path("outgoing_webhooks", name), "the webhook name must be a word")
		case w.Secret == "":
			errs.Add(key, "is required (the security token Teams showed when the webhook was created)")
		case err != nil || len(k) == 0:
			errs.Add(key, "is not the base64 security token Teams showed") // a secret: not repeated
		}
	}
	switch {
	case c.ReplyWait < 0:
		errs.Add("reply_wait", "must not be negative")
	case c.ReplyWait > maxReplyWait:
		errs.Add("reply_wait", "must be at most %s: Teams gives up on the response after 5s", maxReplyWait)
	}
}

// outgoing is the adapter's outgoing-webhook state.
type outgoing struct {
	keys  map[string][]byte // webhook name → HMAC key
	names []string          // sorted, for a stable order of trials
	wait  time.Duration
	seq   atomic.Int64

	mu      sync.Mutex
	clock   clock.Clock
	pending map[string][]*pendingReply // base conversation ID → requests waiting, oldest first
	convs   map[string]string          // base conversation ID → the webhook it came through
}

// pendingReply is a request waiting for the bot's answer.
type pendingReply struct {
	activityID, root string
	reply            chan activity // buffered: one answer
}

func newOutgoing(cfg Config) *outgoing {
	o := &outgoing{keys: map[string][]byte{}, wait: cfg.ReplyWait, clock: clock.Real{},
		pending: map[string][]*pendingReply{}, convs: map[string]string{}}
	for name, w := range cfg.OutgoingWebhooks {
		k, _ := base64.StdEncoding.DecodeString(w.Secret.Reveal()) // validated
		o.keys[name] = k
		o.names = append(o.names, name)
	}
	slices.Sort(o.names)
	return o
}

func (o *outgoing) enabled() bool { return len(o.keys) > 0 }

func (o *outgoing) now() clock.Clock {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.clock
}

// verify returns the webhook whose key signed body, from the value of an
// `Authorization: HMAC <base64>` header.
func (o *outgoing) verify(auth string, body []byte) (string, bool) {
	scheme, sig, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if !strings.EqualFold(scheme, "HMAC") {
		return "", false
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return "", false
	}
	for _, name := range o.names {
		mac := hmac.New(sha256.New, o.keys[name])
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			return name, true
		}
	}
	return "", false
}

// Sign returns the Authorization header Teams sends with body for an
// outgoing webhook whose security token is secret (base64).
func Sign(secret string, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		return "", fmt.Errorf("teams: the security token is not base64: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "HMAC " + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// hooksHandler serves /hooks/teams: a request signed with HMAC comes from
// an outgoing webhook, any other from the Bot Framework.
func (a *Adapter) hooksHandler() http.Handler {
	bot := a.MessagesHandler()
	hook := a.OutgoingHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, _, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		switch {
		case a.out.enabled() && (strings.EqualFold(scheme, "HMAC") || !a.isBot()):
			hook.ServeHTTP(w, r)
		case a.isBot():
			bot.ServeHTTP(w, r)
		default:
			httpError(w, http.StatusUnauthorized, "Authorization: no bot and no outgoing webhook is configured")
		}
	})
}

// OutgoingHandler serves the requests of outgoing webhooks. A body over
// 1 MiB is refused with 413; a missing or forged signature with 401; a
// body that is not a message activity with 400 naming the field. A message
// is handed to the bot, and the bot's first post to its conversation
// within reply_wait is the response.
func (a *Adapter) OutgoingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if auth == "" {
			httpError(w, http.StatusUnauthorized, "Authorization: an outgoing webhook's HMAC signature is required")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActivity))
		if err != nil {
			httpError(w, http.StatusRequestEntityTooLarge, "body: larger than 1 MiB")
			return
		}
		name, ok := a.out.verify(auth, body)
		if !ok {
			a.log.Warn("teams: refused an outgoing webhook request", "reason", "the HMAC signature does not verify", "remote", r.RemoteAddr)
			httpError(w, http.StatusUnauthorized, "Authorization: the HMAC signature does not verify")
			return
		}
		var act activity
		if err := json.Unmarshal(body, &act); err != nil {
			httpError(w, http.StatusBadRequest, "body: not a Bot Framework activity: "+err.Error())
			return
		}
		switch {
		case act.Type == "":
			httpError(w, http.StatusBadRequest, "type: is required")
			return
		case act.Type != "message":
			httpError(w, http.StatusBadRequest, fmt.Sprintf("type: %q is not a message", act.Type))
			return
		case act.ID == "":
			httpError(w, http.StatusBadRequest, "id: is required")
			return
		case act.Conversation == nil || act.Conversation.ID == "":
			httpError(w, http.StatusBadRequest, "conversation.id: is required")
			return
		case act.From == nil || act.From.ID == "":
			httpError(w, http.StatusBadRequest, "from.id: is required")
			return
		}
		act.Text = stripWebhookMention(act)
		act.Value = nil // outgoing webhooks have no Action.Submit
		base, root := splitConversation(act.Conversation.ID)
		a.out.remember(base, name)
		m, ok := a.message(act)
		if !ok {
			writeReply(w, activity{Type: "message", Text: emptyText})
			return
		}
		m.Direct = true // the webhook was mentioned: the message is for the bot
		if root == "" {
			root = act.ID // a new post: the answer goes in its reply chain
		}
		if m.Thread.IsZero() {
			m.Thread = chat.Ref{Room: m.Room, ID: act.ID, Thread: root}
		}
		a.log.Info("teams: outgoing webhook message", "webhook", name, "conversation", base, "activity", act.ID)
		p := a.out.await(base, act.ID, root)
		select {
		case a.inbound <- m:
		case <-r.Context().Done():
			a.out.cancel(base, p)
			httpError(w, http.StatusServiceUnavailable, "the bot is not taking messages")
			return
		}
		var reply activity
		select {
		case reply = <-p.reply:
		case <-a.out.now().After(a.out.wait):
		case <-r.Context().Done():
		}
		if reply.Type == "" {
			if !a.out.cancel(base, p) { // the answer came as the wait ended
				reply = <-p.reply
			} else {
				text := workingText
				if _, ok := a.webhookURL(base); !ok {
					text = workingNoWebhook
				}
				reply = activity{Type: "message", Text: text}
				a.log.Info("teams: the bot did not answer the outgoing webhook in time", "webhook", name, "conversation", base, "wait", a.out.wait)
			}
		}
		writeReply(w, reply)
	})
}

// stripWebhookMention removes the webhook's @mention from the text: the
// mention of the recipient when the activity names one, else the first
// mention (Teams calls a webhook only when it is mentioned, and the
// request names no recipient).
func stripWebhookMention(act activity) string {
	text := act.Text
	for _, e := range act.Entities {
		if e.Type != "mention" || e.Text == "" || e.Mentioned == nil {
			continue
		}
		if act.Recipient != nil && e.Mentioned.ID == act.Recipient.ID {
			return strings.Replace(text, e.Text, "", 1)
		}
	}
	start := strings.Index(text, "<at>")
	if start < 0 {
		return text
	}
	end := strings.Index(text[start:], "</at>")
	if end < 0 {
		return text
	}
	return text[:start] + text[start+end+len("</at>"):]
}

// remember records that a conversation talks through webhook name.
func (o *outgoing) remember(base, name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.convs) >= maxRemembered {
		clear(o.convs)
	}
	o.convs[base] = name
}

// webhookOf returns the outgoing webhook a conversation talks through.
func (o *outgoing) webhookOf(base string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	name, ok := o.convs[base]
	return name, ok
}

// await registers a request waiting for the bot's answer in base.
func (o *outgoing) await(base, activityID, root string) *pendingReply {
	p := &pendingReply{activityID: activityID, root: root, reply: make(chan activity, 1)}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending[base] = append(o.pending[base], p)
	return p
}

// cancel withdraws p; false when an answer was already handed to it.
func (o *outgoing) cancel(base string, p *pendingReply) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	list := o.pending[base]
	i := slices.Index(list, p)
	if i < 0 {
		return false
	}
	o.removeLocked(base, i)
	return true
}

func (o *outgoing) removeLocked(base string, i int) {
	list := slices.Delete(o.pending[base], i, i+1)
	if len(list) == 0 {
		delete(o.pending, base)
		return
	}
	o.pending[base] = list
}

// take hands reply to the request waiting in base whose message parent
// is, else the oldest in parent's thread. ok is false when none waits: a
// post elsewhere in the channel is no answer.
func (o *outgoing) take(base string, parent chat.Ref, reply activity) (root string, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	list := o.pending[base]
	i := slices.IndexFunc(list, func(p *pendingReply) bool { return parent.ID != "" && p.activityID == parent.ID })
	if i < 0 {
		thread := parent.Thread
		if thread == "" {
			thread = parent.ID
		}
		i = slices.IndexFunc(list, func(p *pendingReply) bool { return thread != "" && p.root == thread })
	}
	if i < 0 {
		return "", false
	}
	p := list[i]
	o.removeLocked(base, i)
	p.reply <- reply
	return p.root, true
}

// answer posts p as the response to a request of an outgoing webhook
// waiting for an answer in parent's thread, if one is.
func (a *Adapter) answer(room chat.Room, parent chat.Ref, p chat.Post) (chat.Ref, bool) {
	if !a.out.enabled() {
		return chat.Ref{}, false
	}
	base, _ := splitConversation(room.ID)
	root, ok := a.out.take(base, parent, a.renderReply(p))
	if !ok {
		return chat.Ref{}, false
	}
	id := "outgoing-" + strconv.FormatInt(a.out.seq.Add(1), 10)
	return chat.Ref{Room: chat.Room{Adapter: Name, ID: base, Name: room.Name}, ID: id, Thread: root}, true
}

// renderReply renders p as the response activity. Outgoing webhooks take
// no card action but Action.OpenUrl: buttons become lines saying what to
// reply instead.
func (a *Adapter) renderReply(p chat.Post) activity {
	if len(p.Buttons) > 0 {
		lines := []string{p.Text}
		for _, b := range p.Buttons {
			lines = append(lines, "- "+b.Label+": reply `"+b.Value+"`")
		}
		p.Text = strings.Join(lines, "\n")
		p.Buttons = nil
	}
	return a.render(p)
}

// unanswerable is the error for a post to a conversation that talks
// through an outgoing webhook and has no incoming webhook: nothing can
// carry it once the request is answered.
func (a *Adapter) unanswerable(base string) error {
	name, ok := a.out.webhookOf(base)
	if !ok {
		return nil
	}
	if a.isBot() {
		a.mu.Lock()
		_, viaBot := a.convs[base]
		a.mu.Unlock()
		if viaBot {
			return nil
		}
	}
	return fmt.Errorf("teams: %w: conversation %s talks through outgoing webhook %q, which can only answer within %s of a message; "+
		"to post later add the channel's incoming webhook to adapters.teams.webhooks as %q", chat.ErrPermanent, base, name, a.out.wait, base)
}

// writeReply writes the response activity.
func writeReply(w http.ResponseWriter, act activity) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(act)
}
