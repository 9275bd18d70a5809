package mattermost_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/mattermost"
	"github.com/opsbot/opsbot/chat/mattermost/mattermosttest"
	"github.com/opsbot/opsbot/clock"
)

// running starts h's adapter and returns its inbound channel; it stops
// when the test ends.
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

func TestButtonClickArrivesAsAction(t *testing.T) {
	h := newHarness(t, true)
	in := running(t, h)
	h.Say(t, "alice", "ops", "deploy api")
	m := receive(t, in)
	ref, err := h.adapter.Post(context.Background(), m.Room, chat.Post{Text: "Deploy?", Buttons: []chat.Button{
		{ID: "yes-4821", Label: "Approve", Value: "yes 4821", Style: "primary"},
		{ID: "no", Label: "Cancel", Value: "no 4821"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	status, err := h.srv.Click(h.users["bob"], ref.ID, "yes4821")
	if err != nil || status != http.StatusOK {
		t.Fatalf("click: %d, %v", status, err)
	}
	click := receive(t, in)
	want := chat.Action{ID: "yes-4821", Value: "yes 4821"}
	if click.Action == nil || *click.Action != want || click.Text != "yes 4821" {
		t.Errorf("click arrived as %+v, action %+v; want %+v", click, click.Action, want)
	}
	if click.From != (chat.Identity{Adapter: "mattermost", ID: h.users["bob"].ID, Name: "bob"}) || click.Room.ID != h.channels["ops"].ID {
		t.Errorf("click from %+v in %+v", click.From, click.Room)
	}
	if p, _ := h.srv.Post(ref.ID); !strings.Contains(mattermosttest.Render(p), "[Approve] [Cancel]") {
		t.Errorf("the post changed after the click: %q", mattermosttest.Render(p))
	}
}

func TestForgedClicksAreRefused(t *testing.T) {
	h := newHarness(t, true)
	in := running(t, h)
	h.Say(t, "alice", "ops", "deploy api")
	m := receive(t, in)
	ref, err := h.adapter.Post(context.Background(), m.Room, chat.Post{Text: "Deploy?", Buttons: []chat.Button{{ID: "yes", Label: "Approve", Value: "yes 4821"}}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := h.srv.Post(ref.ID)
	ctx := p.Props["attachments"].([]any)[0].(map[string]any)["actions"].([]any)[0].(map[string]any)["integration"].(map[string]any)["context"].(map[string]any)
	url := p.Props["attachments"].([]any)[0].(map[string]any)["actions"].([]any)[0].(map[string]any)["integration"].(map[string]any)["url"].(string)
	base := func() map[string]any {
		return map[string]any{"user_id": h.users["alice"].ID, "user_name": "alice", "channel_id": h.channels["ops"].ID, "post_id": ref.ID, "trigger_id": "t1"}
	}
	tests := []struct {
		name    string
		context map[string]any
		status  int
	}{
		{"no context", nil, http.StatusUnauthorized},
		{"no signature", map[string]any{"opsbot_button": "yes", "opsbot_value": "yes 4821"}, http.StatusUnauthorized},
		{"value changed", map[string]any{"opsbot_button": "yes", "opsbot_value": "yes 9999", "opsbot_sig": ctx["opsbot_sig"]}, http.StatusUnauthorized},
		{"signature of another key", map[string]any{"opsbot_button": "yes", "opsbot_value": "yes 4821", "opsbot_sig": "AAAA"}, http.StatusUnauthorized},
		{"genuine", ctx, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := base()
			body["context"] = tt.context
			status, err := h.srv.SendAction(url, body)
			if err != nil || status != tt.status {
				t.Fatalf("status %d, %v; want %d", status, err, tt.status)
			}
		})
	}
	if m := receive(t, in); m.Action == nil || m.Text != "yes 4821" {
		t.Errorf("the genuine click arrived as %+v", m)
	}
	select {
	case m := <-in:
		t.Errorf("a refused click arrived: %+v", m)
	default:
	}
	for _, body := range []string{"{", `"a string"`} {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("body %q: status %d, want 400", body, resp.StatusCode)
		}
	}
}

func TestThreadsEditsReactionsUploads(t *testing.T) {
	h := newHarness(t, false)
	in := running(t, h)
	ctx := context.Background()
	h.Say(t, "alice", "ops", "deploy api")
	m := receive(t, in)
	root, err := h.adapter.Post(ctx, m.Room, chat.Post{Text: "deploying *api*", Severity: chat.SeverityWarning,
		Fields: []chat.Field{{Name: "env", Value: "production", Short: true}}, Links: []chat.Link{{Title: "logs", URL: "https://ci.example.com/42"}}})
	if err != nil {
		t.Fatal(err)
	}
	rp, _ := h.srv.Post(root.ID)
	att := rp.Props["attachments"].([]any)[0].(map[string]any)
	if rp.Message != "deploying **api**" || att["color"] != "#FFBC1F" || att["text"] != "[logs](https://ci.example.com/42)" {
		t.Errorf("root post %q, attachment %v", rp.Message, att)
	}

	reply, err := h.adapter.PostInThread(ctx, root, chat.Post{Text: "step 1"})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := h.srv.Post(reply.ID); p.RootID != root.ID || reply.Thread != root.ID {
		t.Errorf("reply root_id %q, ref thread %q; want %q", p.RootID, reply.Thread, root.ID)
	}
	// A reply to the reply stays in the root's thread.
	if again, err := h.adapter.PostInThread(ctx, reply, chat.Post{Text: "step 2"}); err != nil || again.Thread != root.ID {
		t.Errorf("reply to a reply: %+v, %v", again, err)
	}
	// A person's reply in the thread arrives with its thread.
	h.srv.Say(t, h.users["alice"], h.channels["ops"], root.ID, "@opsbot: cancel")
	got := receive(t, in)
	if got.Text != "cancel" || got.Thread.ID != root.ID || !got.Direct {
		t.Errorf("thread reply arrived as %q in thread %+v, addressed %v", got.Text, got.Thread, got.Direct)
	}
	if m.Direct {
		t.Errorf("a channel message without the bot's mention arrived as addressed to it")
	}

	// Mentions name users by ID (as identities do); the post names them by username.
	mention, err := h.adapter.Post(ctx, m.Room, chat.Post{Text: "your deploy", Mentions: []string{h.users["alice"].ID, "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := h.srv.Post(mention.ID); p.Message != "@alice @bob your deploy" {
		t.Errorf("mention post %q", p.Message)
	}
	if err := h.adapter.Update(ctx, root, chat.Post{Text: "deployed api", Severity: chat.SeveritySuccess}); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.srv.Post(root.ID); p.Message != "deployed api" || p.EditAt == 0 {
		t.Errorf("after the update: %+v", p)
	}
	if err := h.adapter.React(ctx, root, ":white_check_mark:"); err != nil {
		t.Fatal(err)
	}
	if r := h.srv.Reactions(); len(r) != 1 || r[0].EmojiName != "white_check_mark" || r[0].UserID != h.bot.ID || r[0].PostID != root.ID {
		t.Errorf("reactions %+v", r)
	}
	up, err := h.adapter.Upload(ctx, m.Room, "deploy.log", []byte("all good\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := h.srv.Post(up.ID)
	if len(p.FileIDs) != 1 {
		t.Fatalf("upload post has files %v", p.FileIDs)
	}
	if f, ok := h.srv.File(p.FileIDs[0]); !ok || f.Name != "deploy.log" || string(f.Data) != "all good\n" || f.ChannelID != h.channels["ops"].ID {
		t.Errorf("uploaded file %+v", f)
	}
}

func TestRoomsByNameAndDirectMessages(t *testing.T) {
	h := newHarness(t, false)
	in := running(t, h)
	h.Say(t, "alice", "ops", "ping") // waits for the joins
	receive(t, in)
	ctx := context.Background()
	for _, name := range []string{"ops", "~ops"} {
		ref, err := h.adapter.Post(ctx, chat.Room{Adapter: "mattermost", ID: name}, chat.Post{Text: "to " + name})
		if err != nil || ref.Room.ID != h.channels["ops"].ID {
			t.Errorf("post to %q: %+v, %v", name, ref, err)
		}
	}
	if _, err := h.adapter.Post(ctx, chat.Room{Adapter: "mattermost", ID: "nowhere"}, chat.Post{Text: "x"}); !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("post to an unknown channel: %v, want a permanent error", err)
	}
	dm := h.srv.AddDirect(h.bot, h.users["alice"])
	h.srv.Say(t, h.users["alice"], dm, "", "whoami")
	if m := receive(t, in); !m.Direct || m.Room.ID != dm.ID || m.Text != "whoami" {
		t.Errorf("direct message arrived as %+v", m)
	}
	// A channel the bot is not in refuses its post, for good.
	other := h.srv.AddChannel(h.srv.AddTeam("other"), "secret", h.users["bob"])
	if _, err := h.adapter.Post(ctx, chat.Room{Adapter: "mattermost", ID: other.ID}, chat.Post{Text: "x"}); !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("post to a channel the bot is not in: %v", err)
	}
}

func TestRateLimitIsRetriedByTheOutbox(t *testing.T) {
	h := newHarness(t, false)
	in := running(t, h)
	h.Say(t, "alice", "ops", "ping")
	m := receive(t, in)
	h.srv.Throttle(1, 3*time.Second)
	_, err := h.adapter.Post(context.Background(), m.Room, chat.Post{Text: "hello"})
	if d, ok := chat.RetryAfter(err); !ok || d != 3*time.Second {
		t.Fatalf("throttled post: %v (retry after %s, %v); want a RateLimitError of 3s", err, d, ok)
	}
	if errors.Is(err, chat.ErrPermanent) {
		t.Errorf("a 429 is not permanent: %v", err)
	}
	if _, err := h.adapter.Post(context.Background(), m.Room, chat.Post{Text: "hello"}); err != nil {
		t.Errorf("post after the limit: %v", err)
	}
}

// What is said while the WebSocket is down arrives once it is back, once
// and in order: the adapter resumes its connection's event sequence.
func TestNothingLostAcrossAReconnect(t *testing.T) {
	h := newHarness(t, false)
	clk := clock.NewFake(time.Unix(0, 0))
	h.adapter.SetClock(clk)
	in := running(t, h)
	h.Say(t, "alice", "ops", "before")
	receive(t, in)
	h.srv.DropConnections()
	waitFor(t, "the connection to break", func() bool { return h.srv.Connections() == 0 })
	for i := range 5 {
		h.Say(t, "alice", "ops", fmt.Sprintf("during %d", i))
	}
	waitFor(t, "the adapter to reconnect", func() bool {
		clk.Advance(time.Minute) // the backoff waits on the fake clock
		return h.srv.Connections() > 0
	})
	h.Say(t, "bob", "ops", "after")
	var got []string
	for len(got) < 6 {
		got = append(got, receive(t, in).Text)
	}
	want := []string{"during 0", "during 1", "during 2", "during 3", "during 4", "after"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("after the reconnect got %q, want %q", got, want)
	}
	select {
	case m := <-in:
		t.Errorf("a message arrived twice or late: %+v", m)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestRefusedTokenIsPermanent(t *testing.T) {
	srv := mattermosttest.New(t)
	a, err := mattermost.New(fastConfig(srv.URL, "not-a-token"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	if err := a.Run(ctx, make(chan chat.Message)); !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("Run with a refused token: %v, want a permanent error", err)
	}
}
