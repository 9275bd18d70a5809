package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/matrix/matrixtest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

type running struct {
	srv  *matrixtest.Server
	a    *Adapter
	in   chan chat.Message
	ctx  context.Context
	done chan error
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	srv := matrixtest.Start(t, matrixtest.Options{})
	if cfg.Rooms == nil {
		cfg.Rooms = []string{srv.Alias("ops")}
	}
	a, _ := newAdapter(t, srv, cfg)
	return run(t, srv, a)
}

func run(t *testing.T, srv *matrixtest.Server, a *Adapter) *running {
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

// content decodes the content of the event with the ID id in room.
func content(t *testing.T, srv *matrixtest.Server, room, id string) (string, map[string]any) {
	t.Helper()
	for _, e := range srv.Events(t, room) {
		if e.EventID == id {
			var c map[string]any
			require.NoError(t, json.Unmarshal(e.Content, &c))
			return e.Type, c
		}
	}
	t.Fatalf("no event %s in %s", id, room)
	return "", nil
}

func TestInbound(t *testing.T) {
	r := start(t, Config{})
	r.srv.WaitJoined(t, "ops")
	// Skipped: a notice (another bot), an edit, an image.
	r.srv.SayEvent(t, "ci", "ops", "m.room.message", map[string]any{"msgtype": "m.notice", "body": "build passed"})
	said := r.srv.Say(t, "alice", "ops", "opsbot: deploy api")
	r.srv.SayEvent(t, "alice", "ops", "m.room.message", map[string]any{
		"msgtype": "m.text", "body": "* opsbot: deploy web",
		"m.new_content": map[string]any{"msgtype": "m.text", "body": "opsbot: deploy web"},
		"m.relates_to":  map[string]any{"rel_type": "m.replace", "event_id": said.EventID},
	})
	r.srv.SayEvent(t, "alice", "ops", "m.room.message", map[string]any{"msgtype": "m.image", "body": "cat.png", "url": "mxc://x/y"})
	m := r.next(t)
	assert.Equal(t, said.EventID, m.ID)
	assert.Equal(t, "opsbot: deploy api", m.Text)
	assert.Equal(t, chat.Identity{Adapter: "matrix", ID: "@alice:test.local", Name: "Alice"}, m.From)
	assert.Equal(t, chat.Room{Adapter: "matrix", ID: r.srv.RoomID(t, "ops"), Name: "#ops:test.local"}, m.Room)
	assert.False(t, m.Direct)

	// A reply in a thread, with a reply fallback.
	root := r.srv.Say(t, "bob", "ops", "deploying")
	r.srv.SayEvent(t, "alice", "ops", "m.room.message", map[string]any{
		"msgtype": "m.text", "body": "> <@bob:test.local> deploying\n\nstatus",
		"m.relates_to": map[string]any{"rel_type": "m.thread", "event_id": root.EventID, "m.in_reply_to": map[string]any{"event_id": root.EventID}},
	})
	assert.Equal(t, "deploying", r.next(t).Text)
	th := r.next(t)
	assert.Equal(t, "status", th.Text)
	assert.Equal(t, root.EventID, th.Thread.Thread)
	assert.Equal(t, root.EventID, th.Thread.ID)
	assert.Equal(t, m.Room.ID, th.Thread.Room.ID)

	// The bot's answer in the thread relates to the root, replying to the last post.
	ref, err := r.a.PostInThread(r.ctx, th.Thread, chat.Post{Text: "all *green*"})
	require.NoError(t, err)
	assert.Equal(t, root.EventID, ref.Thread)
	typ, c := content(t, r.srv, "ops", ref.ID)
	assert.Equal(t, "m.room.message", typ)
	assert.Equal(t, map[string]any{"rel_type": "m.thread", "event_id": root.EventID, "is_falling_back": true, "m.in_reply_to": map[string]any{"event_id": root.EventID}}, c["m.relates_to"])
	again, err := r.a.PostInThread(r.ctx, ref, chat.Post{Text: "and done"})
	require.NoError(t, err)
	_, c = content(t, r.srv, "ops", again.ID)
	assert.Equal(t, ref.ID, c["m.relates_to"].(map[string]any)["m.in_reply_to"].(map[string]any)["event_id"])
}

func TestDirectMessagesOnInvitation(t *testing.T) {
	r := start(t, Config{AutoJoin: true})
	dm := r.srv.Invite(t, "carol")
	r.srv.WaitJoined(t, dm)
	r.srv.Say(t, "carol", dm, "whoami")
	m := r.next(t)
	assert.True(t, m.Direct)
	assert.Equal(t, dm, m.Room.ID)
	assert.Equal(t, "@carol:test.local", m.From.ID)
}

func TestInvitationIgnoredWithoutAutoJoin(t *testing.T) {
	r := start(t, Config{})
	r.srv.WaitJoined(t, "ops")
	dm := r.srv.Invite(t, "mallory")
	n := len(r.srv.Requests())
	r.srv.Say(t, "alice", "ops", "after the invitation")
	assert.Equal(t, "after the invitation", r.next(t).Text)
	assert.False(t, r.srv.Joined(t, dm))
	for _, req := range r.srv.Requests()[n:] {
		assert.NotContains(t, req, dm)
	}
}

func TestPostContent(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{})
	a, _ := newAdapter(t, srv, Config{})
	ops := chat.Room{Adapter: "matrix", ID: srv.Alias("ops")} // an alias; not joined yet
	ref, err := a.Post(context.Background(), ops, chat.Post{
		Text:     "*api* is down: `503` <b>",
		Severity: chat.SeverityCritical,
		Fields:   []chat.Field{{Name: "env", Value: "production"}},
		Links:    []chat.Link{{Title: "dashboard", URL: "https://grafana.example.com/d/api?a=1&b=2"}},
		Mentions: []string{"@alice:test.local"},
	})
	require.NoError(t, err, "the bot joins a room it is not in, and posts")
	assert.Equal(t, srv.RoomID(t, "ops"), ref.Room.ID)
	_, c := content(t, srv, "ops", ref.ID)
	assert.Equal(t, "m.notice", c["msgtype"])
	assert.Equal(t, "@alice:test.local [CRITICAL] api is down: 503 <b>\nenv: production\ndashboard: https://grafana.example.com/d/api?a=1&b=2", c["body"])
	assert.Equal(t, "org.matrix.custom.html", c["format"])
	assert.Equal(t, `<a href="https://matrix.to/#/@alice:test.local">@alice:test.local</a> <strong><font color="#d0021b" data-mx-color="#d0021b">CRITICAL</font></strong> `+
		`<strong>api</strong> is down: <code>503</code> &lt;b&gt;<br><strong>env</strong>: production<br><a href="https://grafana.example.com/d/api?a=1&amp;b=2">dashboard</a>`, c["formatted_body"])
	assert.Equal(t, map[string]any{"user_ids": []any{"@alice:test.local"}}, c["m.mentions"])

	require.NoError(t, a.Update(context.Background(), ref, chat.Post{Text: "api is back", Severity: chat.SeveritySuccess}))
	assert.Equal(t, []string{"api is back"}, srv.Seen(t, "ops"))
	evs := srv.Events(t, "ops")
	var edit map[string]any
	require.NoError(t, json.Unmarshal(evs[len(evs)-1].Content, &edit))
	assert.Equal(t, "* api is back", edit["body"])
	assert.Equal(t, map[string]any{"rel_type": "m.replace", "event_id": ref.ID}, edit["m.relates_to"])
	assert.Equal(t, "api is back", edit["m.new_content"].(map[string]any)["body"])

	require.NoError(t, a.React(context.Background(), ref, "white_check_mark"))
	evs = srv.Events(t, "ops")
	last := evs[len(evs)-1]
	assert.Equal(t, "m.reaction", last.Type)
	assert.JSONEq(t, `{"m.relates_to":{"rel_type":"m.annotation","event_id":"`+ref.ID+`","key":"✅"}}`, string(last.Content))
}

func TestUpload(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{})
	a, _ := newAdapter(t, srv, Config{})
	ops := chat.Room{Adapter: "matrix", ID: srv.Alias("ops")}
	for _, tt := range []struct {
		name, msgtype, mime string
		data                []byte
	}{
		{"report.txt", "m.file", "text/plain; charset=utf-8", []byte("all green\n")},
		{"graph.png", "m.image", "image/png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
	} {
		ref, err := a.Upload(context.Background(), ops, tt.name, tt.data)
		require.NoError(t, err)
		_, c := content(t, srv, "ops", ref.ID)
		assert.Equal(t, tt.msgtype, c["msgtype"])
		assert.Equal(t, tt.name, c["body"])
		media, ok := srv.Media(c["url"].(string))
		require.True(t, ok)
		assert.Equal(t, tt.data, media.Data)
		assert.Equal(t, tt.name, media.Filename)
		assert.Equal(t, tt.mime, media.ContentType)
	}
}

func TestRateLimit(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{})
	a, _ := newAdapter(t, srv, Config{})
	ops := chat.Room{Adapter: "matrix", ID: srv.Alias("ops")}
	_, err := a.Post(context.Background(), ops, chat.Post{Text: "join first"})
	require.NoError(t, err)
	srv.Limit("send", 1, 1500*time.Millisecond)
	_, err = a.Post(context.Background(), ops, chat.Post{Text: "one"})
	d, ok := chat.RetryAfter(err)
	require.True(t, ok, "M_LIMIT_EXCEEDED is a chat.RateLimitError: %v", err)
	assert.Equal(t, 1500*time.Millisecond, d)
	assert.False(t, errors.Is(err, chat.ErrPermanent))
	_, err = a.Post(context.Background(), ops, chat.Post{Text: "one"})
	require.NoError(t, err)
}

func TestSyncWaitsOnItsClock(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{})
	a, _ := newAdapter(t, srv, Config{Rooms: []string{srv.Alias("ops")}, ReconnectMin: time.Hour, ReconnectMax: 2 * time.Hour})
	fake := askedClock{Fake: clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)), asked: make(chan time.Duration, 8)}
	a.SetClock(fake)
	r := run(t, srv, a)
	srv.WaitJoined(t, "ops")
	srv.WaitSyncs(t, 2)

	// A 429 on /sync: the wait is the homeserver's.
	srv.Limit("sync", 1, 90*time.Second)
	assert.Equal(t, 90*time.Second, waited(t, fake))
	srv.Say(t, "alice", "ops", "said during the wait")
	fake.Advance(90 * time.Second)
	assert.Equal(t, "said during the wait", r.next(t).Text)

	// The homeserver down behind its proxy: the backoff's.
	srv.Fail("sync", 1)
	d := waited(t, fake)
	assert.True(t, d > 45*time.Minute && d <= time.Hour, "waits %s", d)
	srv.Say(t, "alice", "ops", "said while away")
	fake.Advance(time.Hour)
	assert.Equal(t, "said while away", r.next(t).Text, "the since token keeps what was said")
}

func waited(t *testing.T, c askedClock) time.Duration {
	t.Helper()
	select {
	case d := <-c.asked:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("the adapter never waited on its clock")
	}
	return 0
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

func TestExpiredTokenLogsInAgain(t *testing.T) {
	r := start(t, Config{})
	r.srv.WaitJoined(t, "ops")
	assert.Equal(t, 1, r.srv.Logins())
	r.srv.ExpireTokens()
	// The sync under way may still answer; the one after it logs in again.
	r.srv.Say(t, "alice", "ops", "still there?")
	assert.Equal(t, "still there?", r.next(t).Text)
	r.srv.Say(t, "alice", "ops", "and now?")
	assert.Equal(t, "and now?", r.next(t).Text)
	assert.Equal(t, 2, r.srv.Logins())
	_, err := r.a.Post(r.ctx, chat.Room{Adapter: "matrix", ID: r.srv.RoomID(t, "ops")}, chat.Post{Text: "yes"})
	require.NoError(t, err)
}

func TestRefusedCredentialsStopRun(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{})
	for name, cfg := range map[string]Config{
		"wrong password":         {Password: "hunter2"},
		"unknown token":          {AccessToken: "syt_forged"},
		"someone else's account": {AccessToken: config.Secret(srv.Token()), UserID: "@other:test.local"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Homeserver = srv.URL()
			if cfg.UserID == "" {
				cfg.UserID = srv.BotID()
			}
			a, err := New(cfg, nil)
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() { done <- a.Run(context.Background(), make(chan chat.Message)) }()
			select {
			case err := <-done:
				assert.ErrorIs(t, err, chat.ErrPermanent)
				assert.NotContains(t, err.Error(), "hunter2")
				assert.NotContains(t, err.Error(), "syt_")
			case <-time.After(5 * time.Second):
				t.Fatal("Run kept trying with refused credentials")
			}
		})
	}
}

func TestExpiredTokenWithoutPasswordStopsRun(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{})
	a, _ := newAdapter(t, srv, Config{AccessToken: config.Secret(srv.Token()), Rooms: []string{srv.Alias("ops")}})
	r := run(t, srv, a)
	srv.WaitJoined(t, "ops")
	srv.ExpireTokens()
	srv.Say(t, "alice", "ops", "hello")
	select {
	case err := <-r.done:
		assert.ErrorIs(t, err, chat.ErrPermanent)
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept going with a refused token")
	}
	r.done <- nil // for the cleanup
}

func TestPermanentErrors(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{})
	a, _ := newAdapter(t, srv, Config{})
	ctx := context.Background()
	_, err := a.Post(ctx, chat.Room{ID: "ops"}, chat.Post{Text: "x"})
	assert.ErrorIs(t, err, chat.ErrPermanent)
	_, err = a.Post(ctx, chat.Room{ID: "#nowhere:test.local"}, chat.Post{Text: "x"})
	assert.ErrorIs(t, err, chat.ErrPermanent)
	assert.Contains(t, err.Error(), "M_NOT_FOUND")
	dm := srv.Invite(t, "dave")
	srv.SayEvent(t, "dave", dm, "m.room.join_rules", map[string]any{"join_rule": "invite"})
	_, err = a.Post(ctx, chat.Room{ID: "!unknown:test.local"}, chat.Post{Text: "x"})
	assert.ErrorIs(t, err, chat.ErrPermanent)
}

func TestRoomsThatFailToJoinAreTriedAgain(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{Uninvited: true})
	a, _ := newAdapter(t, srv, Config{Rooms: []string{srv.Alias("ops"), srv.Alias("dev")}, ReconnectMax: 2 * time.Minute})
	fake := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	a.SetClock(fake)
	srv.Fail("join", 1) // the first join (ops) meets a proxy error
	r := run(t, srv, a)
	srv.WaitJoined(t, "dev")
	srv.Say(t, "alice", "dev", "one")
	assert.Equal(t, "one", r.next(t).Text)
	assert.False(t, srv.Joined(t, "ops"), "not before reconnect_max")
	fake.Advance(2 * time.Minute)
	srv.Say(t, "alice", "dev", "two") // the next sync comes round
	assert.Equal(t, "two", r.next(t).Text)
	srv.WaitJoined(t, "ops")
	srv.Say(t, "alice", "ops", "three")
	assert.Equal(t, "three", r.next(t).Text)
}

// TestRefusedTokenLogsInOnce: calls that see the token refused at the same
// time log in once between them (a second login to the same device would
// revoke the first's token).
func TestRefusedTokenLogsInOnce(t *testing.T) {
	srv := matrixtest.Start(t, matrixtest.Options{})
	a, _ := newAdapter(t, srv, Config{DeviceID: "OPSBOT"})
	ops := chat.Room{Adapter: "matrix", ID: srv.Alias("ops")}
	_, err := a.Post(context.Background(), ops, chat.Post{Text: "first"})
	require.NoError(t, err, "no token yet: the post logs in")
	require.Equal(t, 1, srv.Logins())
	srv.ExpireTokens()
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			_, err := a.Post(context.Background(), ops, chat.Post{Text: fmt.Sprintf("post %d", i)})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 2, srv.Logins())
	assert.Len(t, srv.Seen(t, "ops"), 6)
}
