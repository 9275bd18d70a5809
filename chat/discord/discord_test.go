package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/discord/discordtest"
	"github.com/opsbot/opsbot/clock"
)

// running is an adapter running against a fake Discord.
type running struct {
	srv  *discordtest.Server
	a    *Adapter
	in   chan chat.Message
	ctx  context.Context
	done chan error
}

func start(t *testing.T, opts discordtest.Options, cfg Config) *running {
	t.Helper()
	srv := discordtest.Start(t, opts)
	a, _ := newAdapter(t, srv, cfg)
	return run(t, srv, a)
}

func run(t *testing.T, srv *discordtest.Server, a *Adapter) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, a: a, in: make(chan chat.Message, 64), ctx: ctx, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx, r.in) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after its context ended")
		}
	})
	return r
}

// next waits for the next inbound message.
func (r *running) next(t *testing.T) chat.Message {
	t.Helper()
	select {
	case m := <-r.in:
		return m
	case err := <-r.done:
		t.Fatalf("Run returned: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatalf("no message within 5s")
	}
	return chat.Message{}
}

// none checks that no message arrives for a while.
func (r *running) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-r.in:
		t.Fatalf("unexpected message %+v", m)
	case <-time.After(d):
	}
}

func TestInboundMessage(t *testing.T) {
	r := start(t, discordtest.Options{}, Config{})
	r.srv.WaitConnected(t)
	said := r.srv.Say(t, "alice", "ops", "deploy api <@"+r.srv.Bot().ID+">")
	m := r.next(t)
	assert.Equal(t, said.ID, m.ID)
	assert.Equal(t, chat.Identity{Adapter: "discord", ID: r.srv.User("alice").ID, Name: "alice"}, m.From)
	assert.Equal(t, chat.Room{Adapter: "discord", ID: r.srv.ChannelID(t, "ops"), Name: "#ops"}, m.Room)
	assert.Equal(t, "deploy api @opsbot", m.Text, "a mention reads as @name")
	assert.False(t, m.Direct)
	assert.True(t, m.Thread.IsZero())

	r.srv.DM(t, "bob", "whoami")
	dm := r.next(t)
	assert.True(t, dm.Direct)
	assert.Equal(t, "whoami", dm.Text)
	assert.Equal(t, r.srv.User("bob").ID, dm.From.ID)

	// The bot's own posts, and its edits, are not commands.
	ref, err := r.a.Post(r.ctx, m.Room, chat.Post{Text: "pong"})
	require.NoError(t, err)
	require.NoError(t, r.a.Update(r.ctx, ref, chat.Post{Text: "pong (edited)"}))
	r.none(t, 200*time.Millisecond)
	got, _ := r.srv.Message(ref.ID)
	assert.Equal(t, "pong (edited)", got.Content)
	assert.NotNil(t, got.EditedTimestamp)
}

func TestThreads(t *testing.T) {
	r := start(t, discordtest.Options{}, Config{ThreadArchive: time.Hour})
	r.srv.WaitConnected(t)
	ops := chat.Room{Adapter: "discord", ID: r.srv.ChannelID(t, "ops")}
	root, err := r.a.Post(r.ctx, ops, chat.Post{Text: "deploying api", ThreadKey: "deploy #42"})
	require.NoError(t, err)
	reply, err := r.a.PostInThread(r.ctx, root, chat.Post{Text: "step 1", ThreadKey: "deploy #42"})
	require.NoError(t, err)
	assert.Equal(t, root.ID, reply.Thread, "a thread started from a message has its ID")
	th, ok := r.srv.Channel(reply.Thread)
	require.True(t, ok)
	assert.Equal(t, "deploy #42", th.Name)
	assert.Equal(t, ops.ID, th.ParentID)
	assert.Equal(t, 60, th.ThreadMetadata.AutoArchiveDuration)

	// A second reply under the root (not the thread) reuses the thread.
	again, err := r.a.PostInThread(r.ctx, root, chat.Post{Text: "step 2"})
	require.NoError(t, err)
	assert.Equal(t, root.ID, again.Thread)
	// Replies under a reply stay in the thread; edits reach them there.
	third, err := r.a.PostInThread(r.ctx, reply, chat.Post{Text: "step 3"})
	require.NoError(t, err)
	require.NoError(t, r.a.Update(r.ctx, third, chat.Post{Text: "step 3 done", Severity: chat.SeveritySuccess}))
	var texts []string
	for _, m := range r.srv.Messages(root.ID) {
		texts = append(texts, discordtest.Render(m))
	}
	assert.Equal(t, []string{"step 1", "step 2", "step 3 done"}, texts)

	// Someone answering in the thread: the room is the channel, the thread the thread.
	r.srv.Say(t, "alice", root.ID, "status")
	m := r.next(t)
	assert.Equal(t, ops.ID, m.Room.ID)
	assert.Equal(t, "#ops", m.Room.Name)
	assert.Equal(t, root.ID, m.Thread.Thread)
	// The bot's answer goes back into it.
	ans, err := r.a.PostInThread(r.ctx, m.Thread, chat.Post{Text: "all good"})
	require.NoError(t, err)
	assert.Equal(t, root.ID, ans.Thread)
	last := r.srv.Messages(root.ID)
	assert.Equal(t, "all good", last[len(last)-1].Content)
}

func TestButtonsClick(t *testing.T) {
	r := start(t, discordtest.Options{}, Config{})
	r.srv.WaitConnected(t)
	ops := chat.Room{Adapter: "discord", ID: r.srv.ChannelID(t, "ops")}
	long := "run " + strings.Repeat("x", 120)
	ref, err := r.a.Post(r.ctx, ops, chat.Post{Text: "Deploy api to production?", Buttons: []chat.Button{
		{ID: "approve", Label: "Approve", Value: "yes 4821", Style: "primary"},
		{ID: "cancel", Label: "Cancel", Value: "no 4821", Style: "danger"},
		{ID: "long", Label: "Long", Value: long},
	}})
	require.NoError(t, err)
	msg, _ := r.srv.Message(ref.ID)
	require.Len(t, msg.Components, 1)
	var row struct {
		Type       int `json:"type"`
		Components []struct {
			Style    int    `json:"style"`
			Label    string `json:"label"`
			CustomID string `json:"custom_id"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(msg.Components[0], &row))
	require.Len(t, row.Components, 3)
	assert.Equal(t, 1, row.Type)
	assert.Equal(t, []int{1, 4, 2}, []int{row.Components[0].Style, row.Components[1].Style, row.Components[2].Style})

	for i, want := range []chat.Action{{ID: "approve", Value: "yes 4821"}, {ID: "long", Value: long}} {
		custom := row.Components[[]int{0, 2}[i]].CustomID
		id := r.srv.Click(t, "alice", ref.ID, custom)
		m := r.next(t)
		assert.Equal(t, id, m.ID)
		require.NotNil(t, m.Action)
		assert.Equal(t, want, *m.Action)
		assert.Equal(t, want.Value, m.Text)
		assert.Equal(t, r.srv.User("alice").ID, m.From.ID)
		assert.Equal(t, ops.ID, m.Room.ID)
		cb := r.srv.WaitCallback(t, id)
		assert.Equal(t, 6, cb.Type, "DEFERRED_UPDATE_MESSAGE")
	}

	// An edit without buttons removes them.
	require.NoError(t, r.a.Update(r.ctx, ref, chat.Post{Text: "Approved by alice"}))
	msg, _ = r.srv.Message(ref.ID)
	assert.Empty(t, msg.Components)
}

func TestSlashCommand(t *testing.T) {
	r := start(t, discordtest.Options{}, Config{})
	cmds := r.srv.WaitCommands(t)
	require.Len(t, cmds, 1)
	assert.Contains(t, string(cmds[0]), `"name":"opsbot"`)
	id := r.srv.Command(t, "alice", "ops", "opsbot", "command", "deploy api to staging")
	m := r.next(t)
	assert.Equal(t, id, m.ID)
	assert.Equal(t, "deploy api to staging", m.Text)
	assert.True(t, m.Direct, "a slash command is addressed to the bot")
	cb := r.srv.WaitCallback(t, id)
	assert.Equal(t, 4, cb.Type, "CHANNEL_MESSAGE_WITH_SOURCE")
	assert.Contains(t, string(cb.Data), "/opsbot `deploy api to staging`")
	assert.Contains(t, string(cb.Data), `"parse":[]`)
}

func TestRateLimit(t *testing.T) {
	srv := discordtest.Start(t, discordtest.Options{})
	a, _ := newAdapter(t, srv, Config{})
	ops := chat.Room{Adapter: "discord", ID: srv.ChannelID(t, "ops")}
	srv.Limit("POST /channels/{channel_id}/messages", 1, 300*time.Millisecond, false)
	_, err := a.Post(context.Background(), ops, chat.Post{Text: "one"})
	require.Error(t, err)
	d, ok := chat.RetryAfter(err)
	require.True(t, ok, "a 429 is a chat.RateLimitError: %v", err)
	assert.Equal(t, 301*time.Millisecond, d, "discordgo truncates; the adapter rounds up")
	assert.False(t, errors.Is(err, chat.ErrPermanent))

	// discordgo keeps to the bucket's X-RateLimit-Reset-After, then the post goes through.
	ref, err := a.Post(context.Background(), ops, chat.Post{Text: "one"})
	require.NoError(t, err)
	assert.NotEmpty(t, ref.ID)

	srv.Limit("PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", 1, 2*time.Second, true)
	err = a.React(context.Background(), ref, "white_check_mark")
	d, ok = chat.RetryAfter(err)
	assert.True(t, ok, "a global 429 too: %v", err)
	assert.Equal(t, 2*time.Second+time.Millisecond, d)
}

func TestPermanentErrors(t *testing.T) {
	srv := discordtest.Start(t, discordtest.Options{})
	a, _ := newAdapter(t, srv, Config{})
	ctx := context.Background()
	_, err := a.Post(ctx, chat.Room{Adapter: "discord", ID: "123"}, chat.Post{Text: "x"})
	assert.ErrorIs(t, err, chat.ErrPermanent, "unknown channel")
	assert.Contains(t, err.Error(), "Unknown Channel (code 10003)")
	_, err = a.Post(ctx, chat.Room{Adapter: "discord", ID: "ops"}, chat.Post{Text: "x"})
	assert.ErrorIs(t, err, chat.ErrPermanent, "neither an ID nor #name")
	err = a.React(ctx, chat.Ref{Room: chat.Room{ID: srv.ChannelID(t, "ops")}, ID: "1"}, "no_such_emoji_name")
	assert.ErrorIs(t, err, chat.ErrPermanent)
}

func TestBadTokenStopsRun(t *testing.T) {
	srv := discordtest.Start(t, discordtest.Options{})
	a, err := New(Config{Token: "wrong", APIURL: srv.URL()}, nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background(), make(chan chat.Message)) }()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, chat.ErrPermanent)
		assert.NotContains(t, err.Error(), "wrong")
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept trying with a refused token")
	}
}

func TestDisallowedIntentStopsRun(t *testing.T) {
	srv := discordtest.Start(t, discordtest.Options{DenyMessageContent: true})
	a, _ := newAdapter(t, srv, Config{})
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background(), make(chan chat.Message)) }()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, chat.ErrPermanent)
		assert.Contains(t, err.Error(), "4014")
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept trying with refused intents")
	}
}

func TestWithoutMessageContent(t *testing.T) {
	no := false
	r := start(t, discordtest.Options{DenyMessageContent: true}, Config{MessageContent: &no})
	r.srv.WaitConnected(t)
	assert.Zero(t, r.srv.WaitGateway(t, "identify", func(s discordtest.GatewayStats) bool { return s.Identifies > 0 }).Intents&discordtest.IntentMessageContent)
	r.srv.Say(t, "alice", "ops", "chatter the bot cannot read")
	r.srv.Say(t, "alice", "ops", "<@"+r.srv.Bot().ID+"> ping")
	m := r.next(t)
	assert.Equal(t, "@opsbot ping", m.Text, "a mention carries its content")
}

func TestResumeReplaysMissedEvents(t *testing.T) {
	r := start(t, discordtest.Options{}, Config{})
	r.srv.WaitConnected(t)
	r.srv.Say(t, "alice", "ops", "before")
	assert.Equal(t, "before", r.next(t).Text)
	r.srv.Drop()
	// Said while the bot is away: Discord keeps it for the session.
	r.srv.Say(t, "alice", "ops", "while away")
	assert.Equal(t, "while away", r.next(t).Text)
	st := r.srv.WaitGateway(t, "a resume", func(s discordtest.GatewayStats) bool { return s.Resumes == 1 })
	assert.Equal(t, 1, st.Identifies, "resumed, not identified anew")

	r.srv.Reconnect() // op 7
	r.srv.WaitGateway(t, "a second resume", func(s discordtest.GatewayStats) bool { return s.Resumes == 2 })
	r.srv.WaitConnected(t)
	r.srv.Say(t, "alice", "ops", "after op 7")
	assert.Equal(t, "after op 7", r.next(t).Text)

	// A session Discord forgot is identified anew.
	r.srv.InvalidateSessions()
	r.srv.WaitGateway(t, "a new identify", func(s discordtest.GatewayStats) bool { return s.Identifies == 2 })
	r.srv.WaitConnected(t)
	r.srv.Say(t, "alice", "ops", "new session")
	assert.Equal(t, "new session", r.next(t).Text)
}

func TestHeartbeats(t *testing.T) {
	r := start(t, discordtest.Options{HeartbeatInterval: 40 * time.Millisecond}, Config{})
	r.srv.WaitConnected(t)
	r.srv.Say(t, "alice", "ops", "ping")
	r.next(t)
	st := r.srv.WaitGateway(t, "heartbeats with the sequence", func(s discordtest.GatewayStats) bool {
		return s.Heartbeats >= 3 && s.LastHeartbeatSeq >= 3
	})
	assert.Equal(t, 1, st.Identifies)
	// Without ACKs the client gives the connection up and resumes.
	r.srv.SetHeartbeatACKs(false)
	r.srv.WaitGateway(t, "a resume after missing ACKs", func(s discordtest.GatewayStats) bool { return s.Resumes >= 1 })
}

func TestReconnectBackoffOnTheClock(t *testing.T) {
	srv := discordtest.Start(t, discordtest.Options{})
	a, _ := newAdapter(t, srv, Config{ReconnectMin: time.Hour, ReconnectMax: 2 * time.Hour})
	fake := askedClock{Fake: clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)), asked: make(chan time.Duration, 8)}
	a.SetClock(fake)
	r := run(t, srv, a)
	srv.WaitConnected(t)
	srv.Say(t, "alice", "ops", "ping") // received: the client has its session
	assert.Equal(t, "ping", r.next(t).Text)
	srv.Drop()
	select {
	case d := <-fake.asked:
		assert.True(t, d > 45*time.Minute && d <= time.Hour, "waits %s", d)
	case <-time.After(5 * time.Second):
		t.Fatal("the adapter never waited on its clock")
	}
	srv.WaitDisconnected(t)
	st := srv.WaitGateway(t, "stats", func(discordtest.GatewayStats) bool { return true })
	assert.Equal(t, 0, st.Resumes, "no reconnect before the backoff")
	fake.Advance(time.Hour)
	srv.WaitGateway(t, "a resume", func(s discordtest.GatewayStats) bool { return s.Resumes == 1 })
	srv.Say(t, "alice", "ops", "back")
	assert.Equal(t, "back", r.next(t).Text)
}

func TestUploadReactAndRoomByName(t *testing.T) {
	r := start(t, discordtest.Options{}, Config{})
	r.srv.WaitConnected(t)
	r.srv.WaitGateway(t, "guild create", func(s discordtest.GatewayStats) bool { return s.Identifies == 1 })
	byName := chat.Room{Adapter: "discord", ID: "#dev"}
	var ref chat.Ref
	require.Eventually(t, func() bool {
		var err error
		ref, err = r.a.Upload(r.ctx, byName, "report.txt", []byte("all green\n"))
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, r.srv.ChannelID(t, "dev"), ref.Room.ID)
	assert.Equal(t, "#dev", ref.Room.Name)
	msg, _ := r.srv.Message(ref.ID)
	require.Len(t, msg.Attachments, 1)
	assert.Equal(t, "report.txt", msg.Attachments[0].Filename)
	assert.Equal(t, "all green\n", string(msg.Attachments[0].Data))
	assert.Equal(t, "text/plain; charset=utf-8", msg.Attachments[0].ContentType)

	require.NoError(t, r.a.React(r.ctx, ref, "white_check_mark"))
	require.NoError(t, r.a.React(r.ctx, ref, "🚀"))
	assert.Equal(t, []discordtest.Reaction{
		{ChannelID: ref.Room.ID, MessageID: ref.ID, Emoji: "✅"},
		{ChannelID: ref.Room.ID, MessageID: ref.ID, Emoji: "🚀"},
	}, r.srv.Reactions())
}

func TestRichPost(t *testing.T) {
	srv := discordtest.Start(t, discordtest.Options{})
	a, _ := newAdapter(t, srv, Config{})
	ops := chat.Room{Adapter: "discord", ID: srv.ChannelID(t, "ops")}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	ref, err := a.Post(context.Background(), ops, chat.Post{
		Text:     "*api* is down",
		Severity: chat.SeverityCritical,
		Fields:   []chat.Field{{Name: "env", Value: "production", Short: true}, {Name: "since", Value: "09:12"}},
		Links:    []chat.Link{{Title: "dashboard", URL: "https://grafana.example.com/d/api"}},
		Image:    &chat.Image{Data: png, Alt: "graph"},
		Mentions: []string{srv.User("alice").ID},
	})
	require.NoError(t, err)
	msg, _ := srv.Message(ref.ID)
	assert.Equal(t, "<@"+srv.User("alice").ID+">", msg.Content)
	require.Len(t, msg.Embeds, 1)
	e := msg.Embeds[0]
	assert.Equal(t, 0xD0021B, e.Color)
	assert.Equal(t, "**api** is down\n[dashboard](https://grafana.example.com/d/api)", e.Description)
	assert.Equal(t, []discordtest.EmbedField{{Name: "env", Value: "production", Inline: true}, {Name: "since", Value: "09:12"}}, e.Fields)
	require.NotNil(t, e.Image)
	assert.Equal(t, "attachment://image.png", e.Image.URL)
	require.Len(t, msg.Attachments, 1)
	assert.Equal(t, "image.png", msg.Attachments[0].Filename)
	assert.JSONEq(t, `{"parse":[],"users":["`+srv.User("alice").ID+`"],"replied_user":false}`, string(msg.AllowedMentions))
}

func TestPlainPostPingsNobody(t *testing.T) {
	srv := discordtest.Start(t, discordtest.Options{})
	a, _ := newAdapter(t, srv, Config{})
	ops := chat.Room{Adapter: "discord", ID: srv.ChannelID(t, "ops")}
	ref, err := a.Post(context.Background(), ops, chat.Post{Text: "@everyone look: <@&123>"})
	require.NoError(t, err)
	msg, _ := srv.Message(ref.ID)
	assert.JSONEq(t, `{"parse":[],"replied_user":false}`, string(msg.AllowedMentions))
	assert.Equal(t, `@everyone look: \<@&123>`, msg.Content)
}

// askedClock is a fake clock that reports every wait asked of it.
type askedClock struct {
	*clock.Fake
	asked chan time.Duration
}

func (c askedClock) After(d time.Duration) <-chan time.Time {
	ch := c.Fake.After(d)
	c.asked <- d
	return ch
}

// TestTwoReplicas: two adapters on one bot account (two replicas) each get
// every message and click with the same ID, so the bot claims each once;
// the interaction is answered once, and the replica that comes second
// does not warn about it.
func TestTwoReplicas(t *testing.T) {
	srv := discordtest.Start(t, discordtest.Options{})
	a1, log1 := newAdapter(t, srv, Config{})
	a2, log2 := newAdapter(t, srv, Config{})
	r1, r2 := run(t, srv, a1), run(t, srv, a2)
	srv.WaitGateway(t, "two sessions", func(s discordtest.GatewayStats) bool { return s.Identifies == 2 })
	said := srv.Say(t, "alice", "ops", "ping")
	m1, m2 := r1.next(t), r2.next(t)
	assert.Equal(t, said.ID, m1.ID)
	assert.Equal(t, said.ID, m2.ID)

	ref, err := a1.Post(r1.ctx, m1.Room, chat.Post{Text: "sure?", Buttons: []chat.Button{{ID: "yes", Label: "Yes", Value: "yes 1"}}})
	require.NoError(t, err)
	id := srv.Click(t, "alice", ref.ID, "yes|yes 1")
	c1, c2 := r1.next(t), r2.next(t)
	assert.Equal(t, id, c1.ID)
	assert.Equal(t, id, c2.ID)
	srv.WaitCallback(t, id)
	require.Eventually(t, func() bool {
		return bytes.Contains(append(log1.Bytes(), log2.Bytes()...), []byte("interaction answered elsewhere"))
	}, 5*time.Second, 10*time.Millisecond)
	assert.Len(t, srv.Callbacks(), 1)
	for _, l := range [][]byte{log1.Bytes(), log2.Bytes()} {
		assert.NotContains(t, string(l), "answering an interaction")
	}
}
