package slack_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/slack"
	"github.com/opsbot/opsbot/chat/slack/slacktest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/outbox"
	"github.com/opsbot/opsbot/store/sqlstore"
)

func TestA429IsARateLimitError(t *testing.T) {
	fake := slacktest.Start(t)
	a, err := slack.New(fastConfig(fake), slack.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	fake.RateLimit("chat.postMessage", 30)
	_, err = a.Post(context.Background(), chat.Room{Adapter: "slack", ID: fake.ChannelID("ops")}, chat.Post{Text: "hello"})
	d, ok := chat.RetryAfter(err)
	if !ok || d != 30*time.Second {
		t.Fatalf("error %v: RetryAfter %s, %v; want 30s", err, d, ok)
	}
	if errors.Is(err, chat.ErrPermanent) {
		t.Errorf("a 429 marked permanent")
	}
	if _, err := a.Post(context.Background(), chat.Room{Adapter: "slack", ID: "#ops"}, chat.Post{Text: "hello"}); err != nil {
		t.Errorf("after the 429: %v", err)
	}
	_, err = a.Post(context.Background(), chat.Room{Adapter: "slack", ID: "#nowhere"}, chat.Post{Text: "hello"})
	if !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("a post to a channel that doesn't exist: %v, want permanent", err)
	}
	fake.SetBotMember(fake.ChannelID("dev"), false)
	_, err = a.Post(context.Background(), chat.Room{Adapter: "slack", ID: "#dev"}, chat.Post{Text: "hello"})
	if !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("a post to a channel the bot is not in: %v, want permanent", err)
	}
}

// Through the outbox, on a fake clock: a 429 holds the post for its
// Retry-After, then it is delivered, once.
func TestA429DelaysThenDelivers(t *testing.T) {
	fake := slacktest.Start(t)
	fc := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	a, err := slack.New(fastConfig(fake), slack.Options{Logger: testLogger(t), Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ob := outbox.New(outbox.Options{DB: st.DB(), Dialect: st.Dialect(), Sender: chat.NewSender(a), Clock: fc,
		Logger: testLogger(t), Jitter: func(time.Duration) time.Duration { return 0 }, Poll: time.Hour})
	if err := ob.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ob.Stop(context.Background()) })

	fake.RateLimit("chat.postMessage", 20)
	ref, err := ob.Enqueue(ctx, chat.Room{Adapter: "slack", ID: fake.ChannelID("ops"), Name: "#ops"}, chat.Post{Text: "deploy finished"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first attempt (a 429)", func() bool { return fake.Calls("chat.postMessage") == 1 })
	for waited := time.Duration(0); waited < 19*time.Second; waited += time.Second {
		fc.Advance(time.Second)
		if fake.Calls("chat.postMessage") != 1 || len(fake.Seen("ops")) != 0 {
			t.Fatalf("tried again %s after a 429 asking for 20s", waited+time.Second)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := ob.Wait(ctx, ref); done <- err }()
	eventually(t, "the post delivered after Retry-After", func() bool {
		fc.Advance(time.Second)
		return len(fake.Seen("ops")) == 1
	})
	if err := <-done; err != nil {
		t.Errorf("wait: %v", err)
	}
	if got := fake.Seen("ops"); len(got) != 1 || got[0] != "deploy finished" {
		t.Errorf("seen %q", got)
	}
}
