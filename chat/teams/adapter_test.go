package teams_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/teams"
	"github.com/opsbot/opsbot/chat/teams/teamstest"
)

// running starts h's adapter and returns its inbound channel.
func running(t *testing.T, h *harness) <-chan chat.Message {
	t.Helper()
	in := make(chan chat.Message, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.adapter.Run(ctx, in) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return in
}

func receive(t *testing.T, in <-chan chat.Message) chat.Message {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(chattest.Timeout):
		t.Fatal("no message arrived")
		return chat.Message{}
	}
}

func noMessage(t *testing.T, in <-chan chat.Message) {
	t.Helper()
	select {
	case m := <-in:
		t.Errorf("unexpected message %+v", m)
	default:
	}
}

func TestInboundAuthentication(t *testing.T) {
	h := newHarness(t)
	in := running(t, h)
	ops := h.channels["ops"]
	alice := h.users["alice"]
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	msg := func() map[string]any {
		return map[string]any{
			"type": "message", "id": "1700000000001", "channelId": "msteams", "serviceUrl": h.srv.ServiceURL,
			"from":         map[string]any{"id": alice.ID, "name": "alice", "aadObjectId": alice.AADObjectID},
			"conversation": map[string]any{"id": ops.ID + ";messageid=1700000000001", "conversationType": "channel"},
			"recipient":    map[string]any{"id": "28:" + h.srv.AppID, "name": "opsbot"},
			"text":         "ping",
		}
	}
	claims := func(edit func(map[string]any)) string { return h.srv.Token(edit) }
	tests := []struct {
		name   string
		act    func() map[string]any
		token  string
		status int
	}{
		{"no token", msg, "", http.StatusUnauthorized},
		{"not a JWT", msg, "abc.def", http.StatusUnauthorized},
		{"another key", msg, teamstest.Sign(otherKey, "unknown-kid", map[string]any{"iss": teamstest.Issuer, "aud": h.srv.AppID,
			"exp": h.clock.Now().Add(time.Hour).Unix(), "serviceurl": h.srv.ServiceURL}), http.StatusUnauthorized},
		{"wrong issuer", msg, claims(func(c map[string]any) { c["iss"] = "https://sts.windows.net/evil/" }), http.StatusUnauthorized},
		{"another bot's audience", msg, claims(func(c map[string]any) { c["aud"] = "00000000-0000-0000-0000-000000000000" }), http.StatusUnauthorized},
		{"expired", msg, claims(func(c map[string]any) { c["exp"] = h.clock.Now().Add(-10 * time.Minute).Unix() }), http.StatusUnauthorized},
		{"not yet valid", msg, claims(func(c map[string]any) { c["nbf"] = h.clock.Now().Add(10 * time.Minute).Unix() }), http.StatusUnauthorized},
		{"no expiry", msg, claims(func(c map[string]any) { delete(c, "exp") }), http.StatusUnauthorized},
		{"another service url", msg, claims(func(c map[string]any) { c["serviceurl"] = "https://evil.example.com/" }), http.StatusUnauthorized},
		{"activity's service url differs", func() map[string]any {
			a := msg()
			a["serviceUrl"] = "https://evil.example.com/"
			return a
		}, claims(nil), http.StatusUnauthorized},
		{"channel not endorsed", func() map[string]any {
			a := msg()
			a["channelId"] = "slack"
			return a
		}, claims(nil), http.StatusUnauthorized},
		{"no conversation", func() map[string]any {
			a := msg()
			delete(a, "conversation")
			return a
		}, claims(nil), http.StatusBadRequest},
		{"no sender", func() map[string]any {
			a := msg()
			delete(a, "from")
			return a
		}, claims(nil), http.StatusBadRequest},
		{"genuine", msg, claims(nil), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.srv.Deliver(t, tt.act(), tt.token); got != tt.status {
				t.Errorf("status %d, want %d", got, tt.status)
			}
		})
	}
	if m := receive(t, in); m.Text != "ping" || m.From.ID != alice.AADObjectID {
		t.Errorf("the genuine message arrived as %+v", m)
	}
	noMessage(t, in)
	// A token signed with HS256 by the app password is not accepted either.
	if got := h.srv.DeliverRaw(t, []byte("{not json"), h.srv.Token(nil)); got != http.StatusBadRequest {
		t.Errorf("a body that is not JSON: %d, want 400", got)
	}
}

// An unknown key ID fetches the keys again, but not more than once a
// refresh interval however many requests name one.
func TestKeyRefreshIsBounded(t *testing.T) {
	h := newHarness(t)
	in := running(t, h)
	h.Say(t, "alice", "ops", "first")
	receive(t, in)
	fetches := h.srv.KeyFetches()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := func() int {
		act := map[string]any{"type": "message", "id": "1", "serviceUrl": h.srv.ServiceURL, "channelId": "msteams",
			"conversation": map[string]any{"id": h.channels["ops"].ID}, "from": map[string]any{"id": "29:x"}}
		token := teamstest.Sign(other, "unknown-kid", map[string]any{"iss": teamstest.Issuer, "aud": h.srv.AppID,
			"exp": h.clock.Now().Add(time.Hour).Unix(), "serviceurl": h.srv.ServiceURL})
		return h.srv.Deliver(t, act, token)
	}
	for range 5 {
		if got := forged(); got != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", got)
		}
	}
	if got := h.srv.KeyFetches() - fetches; got != 0 {
		t.Errorf("%d key fetches within the refresh interval, want 0", got)
	}
	h.clock.Advance(teams.DefaultKeyRefresh)
	h.srv.RotateKeys()
	for range 5 {
		if got := forged(); got != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", got)
		}
	}
	if got := h.srv.KeyFetches() - fetches; got != 1 {
		t.Errorf("%d key fetches for 5 requests with an unknown key after the interval, want 1", got)
	}
	// That fetch brought the rotated key: genuine requests pass without another.
	h.Say(t, "alice", "ops", "after the rotation")
	if m := receive(t, in); m.Text != "after the rotation" {
		t.Errorf("got %q", m.Text)
	}
	if got := h.srv.KeyFetches() - fetches; got != 1 {
		t.Errorf("%d key fetches in all, want 1", got)
	}
}

func TestCardButtonClick(t *testing.T) {
	h := newHarness(t)
	in := running(t, h)
	h.Say(t, "alice", "ops", "deploy api")
	m := receive(t, in)
	ref, err := h.adapter.Post(context.Background(), m.Room, chat.Post{Text: "Deploy api?", Buttons: []chat.Button{
		{ID: "approve", Label: "Approve", Value: "yes 4821", Style: "primary"},
		{ID: "cancel", Label: "Cancel", Value: "no 4821", Style: "danger"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	act, _ := h.srv.Activity(ref.ID)
	actions := act.Body["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)["actions"].([]any)
	approve := actions[0].(map[string]any)
	if approve["type"] != "Action.Submit" || approve["style"] != "positive" || actions[1].(map[string]any)["style"] != "destructive" {
		t.Errorf("card actions %v", actions)
	}
	if status := h.srv.Click(t, h.users["bob"], h.channels["ops"], ref.ID, approve["data"].(map[string]any)); status != http.StatusOK {
		t.Fatalf("click: %d", status)
	}
	click := receive(t, in)
	if click.Action == nil || *click.Action != (chat.Action{ID: "approve", Value: "yes 4821"}) || click.Text != "yes 4821" || click.From.Name != "bob" {
		t.Errorf("click arrived as %+v (action %+v)", click, click.Action)
	}
	if click.Thread.ID != ref.ID {
		t.Errorf("click's thread %+v, want the card's %s", click.Thread, ref.ID)
	}
}

func TestThreadsEditsAndRichPosts(t *testing.T) {
	h := newHarness(t)
	in := running(t, h)
	ctx := context.Background()
	h.Say(t, "alice", "ops", "deploy api")
	m := receive(t, in)
	root, err := h.adapter.Post(ctx, m.Room, chat.Post{Text: "deploying *api*", Severity: chat.SeverityCritical,
		Fields: []chat.Field{{Name: "env", Value: "production"}}, Links: []chat.Link{{Title: "logs", URL: "https://ci.example.com/42"}}})
	if err != nil {
		t.Fatal(err)
	}
	act, _ := h.srv.Activity(root.ID)
	card := act.Body["attachments"].([]any)[0].(map[string]any)
	if card["contentType"] != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("attachment %v", card["contentType"])
	}
	container := card["content"].(map[string]any)["body"].([]any)[0].(map[string]any)
	if container["type"] != "Container" || container["style"] != "attention" {
		t.Errorf("severity container %v", container)
	}
	if got := teamstest.Render(act.Body); got != "deploying **api**\nenv: production\n[logs]" {
		t.Errorf("the card reads %q", got)
	}

	reply, err := h.adapter.PostInThread(ctx, root, chat.Post{Text: "step 1"})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := h.srv.Activity(reply.ID); a.Root != root.ID || reply.Thread != root.ID {
		t.Errorf("reply in thread %q, ref thread %q; want %q", a.Root, reply.Thread, root.ID)
	}
	// A person's reply in the thread arrives with its thread.
	h.srv.Say(t, h.users["alice"], h.channels["ops"], root.ID, "cancel")
	if got := receive(t, in); got.Text != "cancel" || got.Thread.ID != root.ID {
		t.Errorf("thread reply arrived as %q in %+v", got.Text, got.Thread)
	}
	// A mention names someone the bot heard from, by their identity ID.
	mention, err := h.adapter.Post(ctx, m.Room, chat.Post{Text: "your deploy", Mentions: []string{h.users["alice"].AADObjectID}})
	if err != nil {
		t.Fatal(err)
	}
	ma, _ := h.srv.Activity(mention.ID)
	ents, _ := ma.Body["entities"].([]any)
	if ma.Text != "<at>alice</at> your deploy" || len(ents) != 1 || ents[0].(map[string]any)["mentioned"].(map[string]any)["id"] != h.users["alice"].AADObjectID {
		t.Errorf("mention %q with entities %v", ma.Text, ents)
	}
	if err := h.adapter.Update(ctx, reply, chat.Post{Text: "step 1 done"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := h.srv.Activity(reply.ID); !a.Edited || a.Text != "step 1 done" {
		t.Errorf("after the update: %+v", a)
	}
}

func TestPersonalChat(t *testing.T) {
	h := newHarness(t)
	in := running(t, h)
	alice := h.users["alice"]
	dm := h.srv.AddPersonal(alice)
	h.srv.Say(t, alice, dm, "", "whoami")
	m := receive(t, in)
	if !m.Direct || m.Text != "whoami" || m.Room.ID != dm.ID || m.Thread.ID != "" {
		t.Fatalf("direct message arrived as %+v", m)
	}
	root, err := h.adapter.Post(context.Background(), m.Room, chat.Post{Text: "you are alice"})
	if err != nil {
		t.Fatal(err)
	}
	// Chats have no threads: a reply is a post with its thread key.
	if _, err := h.adapter.PostInThread(context.Background(), root, chat.Post{Text: "more", ThreadKey: "whoami"}); err != nil {
		t.Fatal(err)
	}
	if seen := h.srv.Seen(dm); len(seen) != 2 || seen[1] != "[whoami] more" {
		t.Errorf("seen %q", seen)
	}
}

func TestConnectorErrors(t *testing.T) {
	h := newHarness(t)
	in := running(t, h)
	ctx := context.Background()
	h.Say(t, "alice", "ops", "ping")
	m := receive(t, in)

	h.srv.Throttle(1, 4*time.Second)
	_, err := h.adapter.Post(ctx, m.Room, chat.Post{Text: "hello"})
	if d, ok := chat.RetryAfter(err); !ok || d != 4*time.Second || errors.Is(err, chat.ErrPermanent) {
		t.Errorf("throttled post: %v; want a RateLimitError of 4s", err)
	}
	// A token the connector no longer takes is renewed, once.
	h.srv.ExpireTokens()
	if _, err := h.adapter.Post(ctx, m.Room, chat.Post{Text: "hello"}); err != nil {
		t.Errorf("post after the token expired: %v", err)
	}
	if _, err := h.adapter.Post(ctx, chat.Room{Adapter: "teams", ID: "19:nowhere@thread.tacv2"}, chat.Post{Text: "x"}); !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("post to an unknown conversation: %v, want permanent", err)
	}
	if _, err := h.adapter.Post(ctx, m.Room, chat.Post{Text: strings.Repeat("x", teamstest.MaxActivity)}); !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("an oversized post: %v, want permanent", err)
	}
}

func TestWrongAppPasswordIsPermanent(t *testing.T) {
	srv := teamstest.New(t)
	cfg := testConfig(srv)
	cfg.AppPassword = "wrong"
	a, err := teams.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Post(context.Background(), chat.Room{Adapter: "teams", ID: srv.AddChannel("ops").ID}, chat.Post{Text: "x"})
	if !errors.Is(err, chat.ErrPermanent) || !strings.Contains(err.Error(), "app_password") {
		t.Errorf("post with a wrong password: %v", err)
	}
	if strings.Contains(err.Error(), srv.Password) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows a password: %v", err)
	}
}
