package teamstest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// Outgoing is a team's outgoing webhook as Teams runs it ("Create an
// Outgoing Webhook"): when someone @mentions it in a channel, Teams POSTs
// the message to URL signed `Authorization: HMAC <base64 HMAC-SHA256 of the
// body>` keyed with the base64-decoded Secret, and shows the response (if
// it comes within five seconds) as the reply.
type Outgoing struct {
	Name     string
	Secret   string // the security token Teams shows, base64 of 32 random bytes
	URL      string // the callback URL
	TenantID string
	seq      atomic.Int64
}

// NewOutgoing creates an outgoing webhook named name with a fresh security token.
func NewOutgoing(name string) *Outgoing {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &Outgoing{Name: name, Secret: base64.StdEncoding.EncodeToString(key), TenantID: newUUID()}
}

// Sign is the Authorization header Teams sends with body.
func (o *Outgoing) Sign(body []byte) string {
	key, _ := base64.StdEncoding.DecodeString(o.Secret)
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "HMAC " + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Message is the activity Teams POSTs when u mentions the webhook in
// channel c: a new post, or a reply in the thread of root. Its ID is returned.
func (o *Outgoing) Message(u *User, c *Conversation, root, text string) (map[string]any, string) {
	id := strconv.FormatInt(time.Now().UnixMilli()*1000+o.seq.Add(1), 10)
	if root == "" {
		root = id
	}
	mention := "<at>" + o.Name + "</at>"
	return map[string]any{
		"type": "message", "id": id, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"localTimestamp": time.Now().Format(time.RFC3339Nano), "serviceUrl": "https://smba.trafficmanager.net/amer/",
		"channelId": "msteams",
		"from":      map[string]any{"id": u.ID, "name": u.Name, "aadObjectId": u.AADObjectID},
		"conversation": map[string]any{"isGroup": true, "id": c.ID + ";messageid=" + root, "name": nil,
			"conversationType": "channel", "tenantId": o.TenantID},
		"recipient":  nil,
		"textFormat": "plain",
		"text":       mention + " " + text + "\n",
		"attachments": []any{map[string]any{"contentType": "text/html",
			"content": "<div><div><span itemscope=\"\" itemtype=\"http://schema.skype.com/Mention\" itemid=\"0\">" + o.Name + "</span> " + text + "</div>\n</div>"}},
		"entities": []any{
			map[string]any{"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web", "timezone": "Europe/London"},
		},
		"channelData": map[string]any{
			"teamsChannelId": c.ID, "teamsTeamId": c.TeamID,
			"channel": map[string]any{"id": c.ID}, "team": map[string]any{"id": c.TeamID},
			"tenant": map[string]any{"id": o.TenantID},
		},
		"locale": "en-US",
	}, id
}

// Send POSTs body to URL with the Authorization header auth (none when
// empty) and returns the status and the response's JSON.
func (o *Outgoing) Send(t testing.TB, body []byte, auth string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, o.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("outgoing webhook %s: %v", o.Name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// Say is u mentioning the webhook in c with text, signed as Teams signs
// it: the status and the response Teams would show.
func (o *Outgoing) Say(t testing.TB, u *User, c *Conversation, root, text string) (int, map[string]any) {
	t.Helper()
	act, _ := o.Message(u, c, root, text)
	body, err := json.Marshal(act)
	if err != nil {
		t.Fatal(err)
	}
	return o.Send(t, body, o.Sign(body))
}
