package teams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/teams"
	"github.com/opsbot/opsbot/chat/teams/teamstest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// docsKey is the security token Microsoft's "Create an Outgoing Webhook"
// page uses in its example (webhook "contoso").
const docsKey = "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA="

// outgoingRig is an adapter serving outgoing webhooks on /hooks/teams.
type outgoingRig struct {
	adapter *teams.Adapter
	hook    *teamstest.Outgoing
	clock   *clock.Fake
	logs    *syncBuffer
	in      chan chat.Message
}

func newOutgoingRig(t *testing.T, mod func(*teams.Config)) *outgoingRig {
	t.Helper()
	hook := teamstest.NewOutgoing("OpsBot")
	hook.Secret = docsKey
	cfg := teams.Config{OutgoingWebhooks: map[string]teams.OutgoingWebhook{"ops": {Secret: config.Secret(docsKey)}}}
	if mod != nil {
		mod(&cfg)
	}
	r := &outgoingRig{hook: hook, clock: clock.NewFake(time.Now()), logs: &syncBuffer{}, in: make(chan chat.Message, 16)}
	a, err := teams.New(cfg, slog.New(slog.NewTextHandler(r.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.SetClock(r.clock)
	r.adapter = a
	h := a.Routes()["POST "+teams.MessagesPath]
	if h == nil {
		t.Fatal("no route for outgoing webhooks")
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+teams.MessagesPath, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	hook.URL = srv.URL + teams.MessagesPath
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx, r.in) }()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, secret := range []string{docsKey} {
			if bytes.Contains(r.logs.Bytes(), []byte(secret)) {
				t.Errorf("the security token appears in the logs")
			}
		}
	})
	return r
}

func (r *outgoingRig) next(t *testing.T) chat.Message {
	t.Helper()
	select {
	case m := <-r.in:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message reached the bot")
		return chat.Message{}
	}
}

type response struct {
	status int
	body   map[string]any
}

func (r *outgoingRig) send(t *testing.T, body []byte, auth string) <-chan response {
	out := make(chan response, 1)
	go func() {
		s, b := r.hook.Send(t, body, auth)
		out <- response{s, b}
	}()
	return out
}

// signed sends body signed as Teams signs it.
func (r *outgoingRig) signed(t *testing.T, body []byte) <-chan response {
	return r.send(t, body, r.hook.Sign(body))
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wait(t *testing.T, c <-chan response) response {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no response")
		return response{}
	}
}

func TestSignMatchesTheSamples(t *testing.T) {
	body := readFixture(t, "outgoing_message.json")
	got, err := teams.Sign(docsKey, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := teamstest.NewOutgoing("x"); true {
		want.Secret = docsKey
		if got != want.Sign(body) {
			t.Fatalf("Sign = %q, the fake Teams signs %q", got, want.Sign(body))
		}
	}
	if _, err := teams.Sign("not base64!", body); err == nil {
		t.Fatal("a token that is not base64 was accepted")
	}
}

// The recorded request: the mention is stripped, the IDs and identity are
// the activity's, and the bot's answer in the thread is the response.
func TestOutgoingRecordedMessageAnsweredInResponse(t *testing.T) {
	r := newOutgoingRig(t, nil)
	body := readFixture(t, "outgoing_message.json")
	auth, _ := teams.Sign(docsKey, body)
	res := r.send(t, body, auth)
	m := r.next(t)
	want := chat.Message{
		ID:     "19:a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6@thread.tacv2/1763803581234",
		Room:   chat.Room{Adapter: "teams", ID: "19:a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6@thread.tacv2"},
		From:   chat.Identity{Adapter: "teams", ID: "6b1d5c4e-2f3a-4b8c-9d0e-1f2a3b4c5d6e", Name: "Alice Ops"},
		Text:   "deploy api to production",
		Direct: true,
	}
	want.Thread = chat.Ref{Room: want.Room, ID: "1763803581234", Thread: "1763803581234"}
	if m.ID != want.ID || m.Room != want.Room || m.From != want.From || m.Text != want.Text || !m.Direct || m.Thread != want.Thread {
		t.Fatalf("message\n got %+v\nwant %+v", m, want)
	}
	ref, err := r.adapter.PostInThread(context.Background(), m.Thread, chat.Post{Text: "This is a reply!"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Room.ID != want.Room.ID || ref.Thread != "1763803581234" {
		t.Fatalf("ref = %+v", ref)
	}
	got := wait(t, res)
	if got.status != http.StatusOK {
		t.Fatalf("status %d %v", got.status, got.body)
	}
	var doc map[string]any
	_ = json.Unmarshal(readFixture(t, "outgoing_reply_text.json"), &doc)
	if got.body["type"] != doc["type"] || got.body["text"] != doc["text"] {
		t.Fatalf("response %v, the docs' example %v", got.body, doc)
	}
	// The answer was used: a second post has nowhere to go.
	_, err = r.adapter.PostInThread(context.Background(), m.Thread, chat.Post{Text: "later"})
	if !errors.Is(err, chat.ErrPermanent) || !strings.Contains(err.Error(), "adapters.teams.webhooks") {
		t.Fatalf("a later post without an incoming webhook: %v", err)
	}
}

// A rich post is an Adaptive Card attachment shaped as the docs' example;
// buttons (card actions outgoing webhooks cannot take) become text.
func TestOutgoingRichReplyIsAdaptiveCard(t *testing.T) {
	r := newOutgoingRig(t, nil)
	c := &teamstest.Conversation{ID: "19:ops@thread.tacv2", Kind: "channel", TeamID: "19:team@thread.tacv2"}
	act, _ := r.hook.Message(teamstest.NewUser("alice"), c, "", "deploy api")
	body, _ := json.Marshal(act)
	res := r.send(t, body, r.hook.Sign(body))
	m := r.next(t)
	_, err := r.adapter.PostInThread(context.Background(), m.Thread, chat.Post{Text: "Deploy api?", Severity: chat.SeverityWarning,
		Fields:  []chat.Field{{Name: "env", Value: "production"}},
		Buttons: []chat.Button{{ID: "ok", Label: "Deploy", Value: "yes"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := wait(t, res)
	var doc map[string]any
	_ = json.Unmarshal(readFixture(t, "outgoing_reply_card.json"), &doc)
	att, _ := got.body["attachments"].([]any)
	docAtt := doc["attachments"].([]any)
	if got.body["type"] != "message" || len(att) != 1 {
		t.Fatalf("response %v", got.body)
	}
	card := att[0].(map[string]any)
	if card["contentType"] != docAtt[0].(map[string]any)["contentType"] {
		t.Fatalf("attachment %v, the docs' %v", card, docAtt[0])
	}
	content := card["content"].(map[string]any)
	raw, _ := json.Marshal(content)
	if content["type"] != "AdaptiveCard" || content["actions"] != nil || !strings.Contains(string(raw), "Deploy: reply `yes`") || !strings.Contains(string(raw), "production") {
		t.Fatalf("card %s", raw)
	}
}

func TestOutgoingAuthentication(t *testing.T) {
	r := newOutgoingRig(t, nil)
	body := readFixture(t, "outgoing_message.json")
	good, _ := teams.Sign(docsKey, body)
	forged, _ := teams.Sign(teamstest.NewOutgoing("x").Secret, body)
	tampered := bytes.Replace(body, []byte("production"), []byte("everywhere"), 1)
	for _, tc := range []struct {
		name string
		body []byte
		auth string
		want int
	}{
		{"missing", body, "", http.StatusUnauthorized},
		{"forged key", body, forged, http.StatusUnauthorized},
		{"tampered body", tampered, good, http.StatusUnauthorized},
		{"wrong scheme", body, "Bearer " + strings.TrimPrefix(good, "HMAC "), http.StatusUnauthorized},
		{"not base64", body, "HMAC ***", http.StatusUnauthorized},
		{"oversized", bytes.Repeat([]byte(" "), 1<<20+1), good, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := wait(t, r.send(t, tc.body, tc.auth))
			if got.status != tc.want {
				t.Fatalf("status %d %v, want %d", got.status, got.body, tc.want)
			}
		})
	}
	select {
	case m := <-r.in:
		t.Fatalf("a refused request reached the bot: %+v", m)
	default:
	}
}

func TestOutgoingMalformedBodyNamesTheField(t *testing.T) {
	r := newOutgoingRig(t, nil)
	var base map[string]any
	_ = json.Unmarshal(readFixture(t, "outgoing_message.json"), &base)
	for _, tc := range []struct {
		field string
		edit  func(map[string]any)
	}{
		{"type", func(a map[string]any) { delete(a, "type") }},
		{"type", func(a map[string]any) { a["type"] = "conversationUpdate" }},
		{"id", func(a map[string]any) { delete(a, "id") }},
		{"conversation.id", func(a map[string]any) { delete(a, "conversation") }},
		{"from.id", func(a map[string]any) { a["from"] = map[string]any{"name": "x"} }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			act := map[string]any{}
			raw, _ := json.Marshal(base)
			_ = json.Unmarshal(raw, &act)
			tc.edit(act)
			body, _ := json.Marshal(act)
			got := wait(t, r.send(t, body, r.hook.Sign(body)))
			if got.status != http.StatusBadRequest || !strings.HasPrefix(got.body["error"].(string), tc.field+":") {
				t.Fatalf("status %d %v, want 400 naming %s", got.status, got.body, tc.field)
			}
		})
	}
	body := []byte(`{"type":`)
	if got := wait(t, r.send(t, body, r.hook.Sign(body))); got.status != http.StatusBadRequest || !strings.HasPrefix(got.body["error"].(string), "body:") {
		t.Fatalf("not JSON: %d %v", got.status, got.body)
	}
}

// The bot does not answer within reply_wait: the response says it is
// working on it, and its later post goes to the channel's incoming webhook.
func TestOutgoingTimeoutThenIncomingWebhook(t *testing.T) {
	srv := teamstest.New(t)
	c := srv.AddChannel("ops")
	incoming := srv.AddWebhook("ops", false)
	r := newOutgoingRig(t, func(cfg *teams.Config) {
		cfg.Webhooks = map[string]config.Secret{c.ID: config.Secret(incoming.URL)}
		cfg.ReplyWait = 3 * time.Second
	})
	res := r.signed(t, mustJSON(t, r, c, "deploy api"))
	m := r.next(t)
	waitFor(t, func() bool { return r.clock.Waiters() > 0 })
	r.clock.Advance(3 * time.Second)
	got := wait(t, res)
	if got.status != http.StatusOK || !strings.Contains(got.body["text"].(string), "Working on it") {
		t.Fatalf("timeout response %d %v", got.status, got.body)
	}
	if _, err := r.adapter.PostInThread(context.Background(), m.Thread, chat.Post{Text: "deployed api", Severity: chat.SeveritySuccess}); err != nil {
		t.Fatal(err)
	}
	if seen := srv.WebhookSeen(incoming); len(seen) != 1 || !strings.Contains(seen[0], "deployed api") {
		t.Fatalf("incoming webhook saw %q", seen)
	}
	if bytes.Contains(r.logs.Bytes(), []byte(incoming.URL)) {
		t.Error("the incoming webhook URL appears in the logs")
	}
}

func TestOutgoingTimeoutWithoutIncomingWebhook(t *testing.T) {
	r := newOutgoingRig(t, nil)
	c := &teamstest.Conversation{ID: "19:ops@thread.tacv2", Kind: "channel", TeamID: "19:team@thread.tacv2"}
	res := r.signed(t, mustJSON(t, r, c, "deploy api"))
	m := r.next(t)
	waitFor(t, func() bool { return r.clock.Waiters() > 0 })
	r.clock.Advance(teams.DefaultReplyWait)
	got := wait(t, res)
	if text, _ := got.body["text"].(string); got.status != http.StatusOK || !strings.Contains(text, "adapters.teams.webhooks") {
		t.Fatalf("timeout response %d %v", got.status, got.body)
	}
	_, err := r.adapter.PostInThread(context.Background(), m.Thread, chat.Post{Text: "deployed"})
	if !errors.Is(err, chat.ErrPermanent) || !strings.Contains(err.Error(), `"19:ops@thread.tacv2"`) {
		t.Fatalf("late post: %v", err)
	}
	if err := r.adapter.Update(context.Background(), chat.Ref{Room: m.Room, ID: "outgoing-1", Thread: m.Thread.Thread}, chat.Post{Text: "x"}); !errors.Is(err, chat.ErrPermanent) {
		t.Fatalf("late update: %v", err)
	}
}

// A post elsewhere in the channel while a request waits is no answer to it.
func TestOutgoingOnlyTheThreadAnswers(t *testing.T) {
	r := newOutgoingRig(t, func(cfg *teams.Config) {
		cfg.Webhooks = map[string]config.Secret{"19:ops@thread.tacv2": "http://127.0.0.1:1/hook"}
	})
	c := &teamstest.Conversation{ID: "19:ops@thread.tacv2", Kind: "channel", TeamID: "19:team@thread.tacv2"}
	first := r.signed(t, mustJSON(t, r, c, "one"))
	m1 := r.next(t)
	second := r.signed(t, mustJSON(t, r, c, "two"))
	m2 := r.next(t)
	if _, err := r.adapter.PostInThread(context.Background(), m2.Thread, chat.Post{Text: "answer two"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.adapter.PostInThread(context.Background(), m1.Thread, chat.Post{Text: "answer one"}); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, first); got.body["text"] != "answer one" {
		t.Fatalf("first got %v", got.body)
	}
	if got := wait(t, second); got.body["text"] != "answer two" {
		t.Fatalf("second got %v", got.body)
	}
}

// With a bot configured too, /hooks/teams tells the two apart by the
// Authorization scheme: Bearer goes to the Bot Framework path, HMAC here.
func TestOutgoingCoexistsWithTheBot(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig(h.srv)
	hook := teamstest.NewOutgoing("OpsBot")
	cfg.OutgoingWebhooks = map[string]teams.OutgoingWebhook{"ops": {Secret: config.Secret(hook.Secret)}}
	a, err := teams.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := httptest.NewServer(a.Routes()["POST "+teams.MessagesPath])
	t.Cleanup(endpoint.Close)
	h.srv.BotEndpoint = endpoint.URL + teams.MessagesPath
	hook.URL = h.srv.BotEndpoint
	in := make(chan chat.Message, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx, in) }()
	t.Cleanup(func() { cancel(); <-done })

	h.srv.Say(t, h.users["alice"], h.channels["ops"], "", "ping")
	if m := <-in; m.Text != "ping" {
		t.Fatalf("bot path: %+v", m)
	}
	res := make(chan response, 1)
	go func() { s, b := hook.Say(t, h.users["bob"], h.channels["dev"], "", "status"); res <- response{s, b} }()
	m := <-in
	if m.Text != "status" {
		t.Fatalf("outgoing path: %+v", m)
	}
	if _, err := a.PostInThread(ctx, m.Thread, chat.Post{Text: "all good"}); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, res); got.body["text"] != "all good" {
		t.Fatalf("response %v", got.body)
	}
	if status := h.srv.Deliver(t, map[string]any{"type": "message"}, ""); status != http.StatusUnauthorized {
		t.Fatalf("no Authorization: %d", status)
	}
}

func TestOutgoingConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  teams.Config
		want string
	}{
		{teams.Config{OutgoingWebhooks: map[string]teams.OutgoingWebhook{"ops": {}}}, "outgoing_webhooks.ops.secret: is required"},
		{teams.Config{OutgoingWebhooks: map[string]teams.OutgoingWebhook{"ops": {Secret: "not base64!"}}}, "outgoing_webhooks.ops.secret: is not the base64"},
		{teams.Config{OutgoingWebhooks: map[string]teams.OutgoingWebhook{"ops": {Secret: docsKey}}, ReplyWait: 5 * time.Second}, "reply_wait: must be at most"},
		{teams.Config{OutgoingWebhooks: map[string]teams.OutgoingWebhook{"ops": {Secret: docsKey}}, ReplyWait: -time.Second}, "reply_wait: must not be negative"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "not base64!") {
			t.Errorf("the secret is repeated in %v", err)
		}
	}
	if err := (teams.Config{OutgoingWebhooks: map[string]teams.OutgoingWebhook{"ops": {Secret: docsKey}}}).Validate(); err != nil {
		t.Errorf("outgoing webhooks alone: %v", err)
	}
}

// mustJSON is the request body of alice mentioning the webhook in c.
func mustJSON(t *testing.T, r *outgoingRig, c *teamstest.Conversation, text string) []byte {
	t.Helper()
	act, _ := r.hook.Message(teamstest.NewUser("alice"), c, "", text)
	body, err := json.Marshal(act)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOutgoingMentionStripping(t *testing.T) {
	r := newOutgoingRig(t, nil)
	var act map[string]any
	_ = json.Unmarshal(readFixture(t, "outgoing_message.json"), &act)
	for _, tc := range []struct{ text, want string }{
		{"<at>OpsBot</at> ping\n", "ping"},
		{"hey <at>OpsBot</at> ping", "hey  ping"},
		{"<at>OpsBot</at> page <at>Bob Smith</at> now", "page Bob Smith now"},
		{"<p><at>OpsBot</at>&nbsp;status</p>", "status"},
	} {
		act["text"] = tc.text
		body, _ := json.Marshal(act)
		res := r.signed(t, body)
		m := r.next(t)
		if m.Text != tc.want {
			t.Errorf("%q became %q, want %q", tc.text, m.Text, tc.want)
		}
		if _, err := r.adapter.PostInThread(context.Background(), m.Thread, chat.Post{Text: "ok"}); err != nil {
			t.Fatal(err)
		}
		wait(t, res)
	}
}

func TestOutgoingEmptyMentionGetsAHint(t *testing.T) {
	r := newOutgoingRig(t, nil)
	var act map[string]any
	_ = json.Unmarshal(readFixture(t, "outgoing_message.json"), &act)
	act["text"] = "<at>OpsBot</at>\n"
	body, _ := json.Marshal(act)
	got := wait(t, r.signed(t, body))
	if text, _ := got.body["text"].(string); got.status != http.StatusOK || !strings.Contains(text, "help") {
		t.Fatalf("response %d %v", got.status, got.body)
	}
	select {
	case m := <-r.in:
		t.Fatalf("an empty mention reached the bot: %+v", m)
	default:
	}
}
