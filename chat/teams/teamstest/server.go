// Package teamstest is a fake of the Microsoft services a Teams bot talks
// to, following the Bot Framework's published REST reference: the OpenID
// metadata and signing keys (with channel endorsements) that inbound
// requests are verified against, the Entra ID token endpoint (OAuth 2.0
// client credentials), and the Bot Connector's conversation API (send,
// reply in a channel thread with ";messageid=", update, 401/404/413/429).
// People's messages and card button clicks are delivered to the bot's
// messaging endpoint as activities with a signed bearer token, as Teams does.
package teamstest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issuer is the issuer of the tokens on requests to the bot.
const Issuer = "https://api.botframework.com"

// Scope is the scope a bot asks for its connector token.
const Scope = "https://api.botframework.com/.default"

// MaxActivity is the connector's size limit of an activity (about 28 KB).
const MaxActivity = 28 * 1024

// Server is the fake, on loopback.
type Server struct {
	URL        string // login, OpenID metadata and keys
	ServiceURL string // the Bot Connector, as activities name it
	AppID      string
	Password   string
	TenantID   string
	// BotEndpoint is the bot's messaging endpoint, where activities go.
	BotEndpoint string
	// Now is the time tokens are issued at (default time.Now).
	Now func() time.Time

	srv *httptest.Server

	mu         sync.Mutex
	key        *rsa.PrivateKey
	kid        string
	endorse    []string
	tokens     map[string]time.Time // issued access tokens → expiry
	convs      map[string]*Conversation
	activities []Activity
	seq        int64
	throttled  int
	retry      int
	posts      int
	keyFetches int
	webhooks   map[string]*Webhook // by ID
}

// Conversation is a channel (its ID "19:…@thread.tacv2") or a chat.
type Conversation struct {
	ID     string
	Name   string
	Kind   string // channel, personal, groupChat
	TeamID string
}

// User is a person in the tenant.
type User struct {
	ID          string // "29:1…", the bot-specific ID
	AADObjectID string
	Name        string
}

// Activity is one message in a conversation.
type Activity struct {
	ID           string
	Conversation string // the base conversation ID
	Root         string // the thread root ("" for a root)
	FromBot      bool
	Text         string
	Body         map[string]any // the activity as sent
	Edited       bool
}

// New starts a fake for a bot with a random app ID and password.
func New(t testing.TB) *Server {
	s := &Server{
		AppID: newUUID(), Password: "pw-" + newUUID(), TenantID: newUUID(), Now: time.Now,
		tokens: map[string]time.Time{}, convs: map[string]*Conversation{}, endorse: []string{"msteams", "webchat"},
	}
	s.RotateKeys()
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	s.ServiceURL = s.srv.URL + "/amer/"
	t.Cleanup(s.srv.Close)
	return s
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// RotateKeys replaces the signing key, as Microsoft does now and then: the
// old key is no longer published.
func (s *Server) RotateKeys() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key, s.kid = key, newUUID()
}

// SetEndorsements sets the channels the signing key endorses.
func (s *Server) SetEndorsements(channels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endorse = channels
}

// NewUser makes a person.
func NewUser(name string) *User {
	return &User{ID: "29:1" + strings.ReplaceAll(newUUID(), "-", ""), AADObjectID: newUUID(), Name: name}
}

// AddChannel creates a channel of a team.
func (s *Server) AddChannel(name string) *Conversation {
	c := &Conversation{ID: "19:" + name + "-" + strings.ReplaceAll(newUUID(), "-", "")[:16] + "@thread.tacv2", Name: name, Kind: "channel",
		TeamID: "19:team-" + strings.ReplaceAll(newUUID(), "-", "")[:16] + "@thread.tacv2"}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.convs[c.ID] = c
	return c
}

// AddPersonal creates the one-to-one chat of the bot and u.
func (s *Server) AddPersonal(u *User) *Conversation {
	c := &Conversation{ID: "a:1" + strings.ReplaceAll(newUUID(), "-", ""), Kind: "personal"}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.convs[c.ID] = c
	return c
}

// Throttle makes the next n connector requests fail with 429 and Retry-After.
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttled, s.retry = n, int(retryAfter/time.Second)
}

// Activities returns the messages of a conversation, oldest first.
func (s *Server) Activities(c *Conversation) []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Activity
	for _, a := range s.activities {
		if a.Conversation == c.ID {
			out = append(out, a)
		}
	}
	return out
}

// Activity returns one message by ID.
func (s *Server) Activity(id string) (Activity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.activities {
		if a.ID == id {
			return a, true
		}
	}
	return Activity{}, false
}

// Seen renders the bot's messages in c as a person sees them.
func (s *Server) Seen(c *Conversation) []string {
	var out []string
	for _, a := range s.Activities(c) {
		if a.FromBot {
			out = append(out, Render(a.Body))
		}
	}
	return out
}

// Render is a message activity as a person sees it: its text, then each
// Adaptive Card's text blocks, facts and action titles.
func Render(body map[string]any) string {
	var lines []string
	if t, _ := body["text"].(string); t != "" {
		lines = append(lines, unescape(t))
	}
	atts, _ := body["attachments"].([]any)
	for _, a := range atts {
		am, _ := a.(map[string]any)
		card, _ := am["content"].(map[string]any)
		lines = append(lines, renderElements(card["body"])...)
		var titles []string
		actions, _ := card["actions"].([]any)
		for _, ac := range actions {
			m, _ := ac.(map[string]any)
			titles = append(titles, fmt.Sprintf("[%v]", m["title"]))
		}
		if len(titles) > 0 {
			lines = append(lines, strings.Join(titles, " "))
		}
	}
	return strings.Join(lines, "\n")
}

func renderElements(v any) []string {
	var lines []string
	items, _ := v.([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		switch m["type"] {
		case "TextBlock":
			lines = append(lines, unescape(fmt.Sprint(m["text"])))
		case "FactSet":
			facts, _ := m["facts"].([]any)
			for _, f := range facts {
				fm, _ := f.(map[string]any)
				lines = append(lines, fmt.Sprintf("%v: %v", fm["title"], fm["value"]))
			}
		case "Container":
			lines = append(lines, renderElements(m["items"])...)
		case "Image":
			lines = append(lines, fmt.Sprintf("(image %v)", m["url"]))
		}
	}
	return lines
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\*_`[]", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">").Replace(b.String())
}

// Token signs a token for a request to the bot, as the Bot Framework does;
// edit may change its claims (a forged token, for tests).
func (s *Server) Token(edit func(claims map[string]any)) string {
	now := s.Now()
	claims := map[string]any{
		"serviceurl": s.ServiceURL,
		"nbf":        now.Add(-5 * time.Minute).Unix(),
		"exp":        now.Add(time.Hour).Unix(),
		"iss":        Issuer,
		"aud":        s.AppID,
	}
	if edit != nil {
		edit(claims)
	}
	s.mu.Lock()
	key, kid := s.key, s.kid
	s.mu.Unlock()
	return Sign(key, kid, claims)
}

// Sign makes an RS256 JWT of claims with key.
func Sign(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid, "x5t": kid})
	c, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Say delivers a message of u in c to the bot, mentioning the bot first
// in a channel (Teams only sends a bot the channel messages that mention
// it); root puts it in that thread. It returns the activity's ID.
func (s *Server) Say(t testing.TB, u *User, c *Conversation, root, text string) string {
	t.Helper()
	act, id := s.activity(u, c, root)
	if c.Kind == "channel" {
		act["text"] = "<at>opsbot</at> " + text
		act["entities"] = []any{
			map[string]any{"type": "mention", "text": "<at>opsbot</at>", "mentioned": map[string]any{"id": "28:" + s.AppID, "name": "opsbot"}},
			map[string]any{"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web", "timezone": "Europe/London"},
		}
	} else {
		act["text"] = text
	}
	s.record(Activity{ID: id, Conversation: c.ID, Root: root, Text: text, Body: act})
	if status := s.Deliver(t, act, s.Token(nil)); status != http.StatusOK {
		t.Fatalf("teamstest: the bot answered %d to a message", status)
	}
	return id
}

// Click delivers the click of u on an Action.Submit button of the bot's
// message replyTo in c: a message activity whose value is the button's data.
func (s *Server) Click(t testing.TB, u *User, c *Conversation, replyTo string, data map[string]any) int {
	t.Helper()
	root := ""
	if a, ok := s.Activity(replyTo); ok {
		root = a.Root
		if root == "" {
			root = a.ID
		}
	}
	act, _ := s.activity(u, c, root)
	act["replyToId"] = replyTo
	act["value"] = data
	return s.Deliver(t, act, s.Token(nil))
}

// activity is the frame of a message activity of u in c.
func (s *Server) activity(u *User, c *Conversation, root string) (map[string]any, string) {
	s.mu.Lock()
	s.seq++
	id := strconv.FormatInt(s.Now().UnixMilli()*1000+s.seq, 10)
	s.mu.Unlock()
	conv := map[string]any{"id": c.ID, "conversationType": c.Kind, "tenantId": s.TenantID}
	act := map[string]any{
		"type": "message", "id": id, "timestamp": s.Now().UTC().Format(time.RFC3339Nano),
		"localTimestamp": s.Now().Format(time.RFC3339Nano), "channelId": "msteams", "serviceUrl": s.ServiceURL,
		"from":         map[string]any{"id": u.ID, "name": u.Name, "aadObjectId": u.AADObjectID},
		"conversation": conv,
		"recipient":    map[string]any{"id": "28:" + s.AppID, "name": "opsbot"},
		"textFormat":   "plain",
		"locale":       "en-US",
		"channelData":  map[string]any{"tenant": map[string]any{"id": s.TenantID}},
	}
	if c.Kind == "channel" {
		if root == "" {
			root = id
		}
		conv["id"] = c.ID + ";messageid=" + root
		conv["isGroup"] = true
		conv["name"] = c.Name
		act["channelData"] = map[string]any{
			"teamsChannelId": c.ID, "teamsTeamId": c.TeamID,
			"channel": map[string]any{"id": c.ID}, "team": map[string]any{"id": c.TeamID},
			"tenant": map[string]any{"id": s.TenantID},
		}
	}
	return act, id
}

// Deliver POSTs an activity to the bot's endpoint with the given bearer
// token ("" for none) and returns the HTTP status.
func (s *Server) Deliver(t testing.TB, act map[string]any, token string) int {
	t.Helper()
	body, _ := json.Marshal(act)
	return s.DeliverRaw(t, body, token)
}

// DeliverRaw POSTs a raw body to the bot's endpoint.
func (s *Server) DeliverRaw(t testing.TB, body []byte, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.BotEndpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("teamstest: deliver to the bot: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (s *Server) record(a Activity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.activities = append(s.activities, a)
}

// jwk is the public half of the signing key as a JWKS entry.
func (s *Server) jwk() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	pub := s.key.PublicKey
	return map[string]any{
		"kty": "RSA", "use": "sig", "kid": s.kid, "x5t": s.kid,
		"n":            base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"endorsements": s.endorse,
	}
}
