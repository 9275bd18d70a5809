package chat_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// call is one thing a fake adapter was asked to do.
type call struct {
	op     string // "post", "thread", "update"
	room   chat.Room
	parent chat.Ref
	ref    chat.Ref
	post   chat.Post
}

// plainAdapter has no optional capability.
type plainAdapter struct {
	name string
	fail error

	mu    sync.Mutex
	n     int
	calls []call
	acked []string
}

func newPlain(name string) *plainAdapter { return &plainAdapter{name: name} }

func (a *plainAdapter) Name() string { return a.name }

func (a *plainAdapter) Run(ctx context.Context, _ chan<- chat.Message) error {
	<-ctx.Done()
	return nil
}

func (a *plainAdapter) Post(_ context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	return a.record("post", to, chat.Ref{}, p)
}

func (a *plainAdapter) record(op string, room chat.Room, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return chat.Ref{}, a.fail
	}
	a.n++
	ref := chat.Ref{Room: room, ID: strconv.Itoa(a.n)}
	if op == "thread" {
		ref.Thread = parent.Thread
		if ref.Thread == "" {
			ref.Thread = parent.ID
		}
	}
	a.calls = append(a.calls, call{op: op, room: room, parent: parent, ref: ref, post: p})
	return ref, nil
}

func (a *plainAdapter) Calls() []call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]call(nil), a.calls...)
}

func (a *plainAdapter) texts() []string {
	var out []string
	for _, c := range a.Calls() {
		out = append(out, c.post.Text)
	}
	return out
}

// threadAdapter threads but has no buttons, edits or formatting.
type threadAdapter struct{ *plainAdapter }

func (a threadAdapter) PostInThread(_ context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	return a.record("thread", parent.Room, parent, p)
}

// richAdapter can do everything.
type richAdapter struct{ threadAdapter }

func (a richAdapter) Update(_ context.Context, ref chat.Ref, p chat.Post) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, call{op: "update", room: ref.Room, ref: ref, post: p})
	return nil
}
func (richAdapter) RendersButtons() bool  { return true }
func (richAdapter) FormatsMarkdown() bool { return true }
func (richAdapter) RendersRich() bool     { return true }

// decliningAdapter implements the capability interfaces but declines them all.
type decliningAdapter struct{ *plainAdapter }

func (decliningAdapter) RendersButtons() bool  { return false }
func (decliningAdapter) FormatsMarkdown() bool { return false }
func (decliningAdapter) RendersRich() bool     { return false }

// limitedAdapter accepts at most max bytes per post.
type limitedAdapter struct {
	*plainAdapter
	max int
}

func (a limitedAdapter) MaxPostLen() int { return a.max }

// ackAdapter wants to know about handled messages.
type ackAdapter struct{ *plainAdapter }

func (a ackAdapter) Handled(m chat.Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.acked = append(a.acked, m.ID)
}

func room(adapter, id string) chat.Room { return chat.Room{Adapter: adapter, ID: id, Name: id} }

func TestSenderAdapters(t *testing.T) {
	irc, web := newPlain("irc"), newPlain("web")
	s := chat.NewSender(web)
	s.Add(irc)
	got, ok := s.Adapter("irc")
	require.True(t, ok)
	assert.Same(t, irc, got)
	_, ok = s.Adapter("slack")
	assert.False(t, ok)
	names := []string{}
	for _, a := range s.Adapters() {
		names = append(names, a.Name())
	}
	assert.Equal(t, []string{"irc", "web"}, names)

	replacement := newPlain("irc")
	s.Add(replacement)
	got, _ = s.Adapter("irc")
	assert.Same(t, replacement, got)
}

func TestSenderUnknownAdapter(t *testing.T) {
	s := chat.NewSender(newPlain("irc"))
	ctx := context.Background()
	_, err := s.Post(ctx, room("slack", "C1"), chat.Post{Text: "hi"})
	require.ErrorIs(t, err, chat.ErrUnknownAdapter)
	assert.Contains(t, err.Error(), `"slack"`)
	_, err = s.PostInThread(ctx, chat.Ref{Room: room("matrix", "r"), ID: "1"}, chat.Post{})
	require.ErrorIs(t, err, chat.ErrUnknownAdapter)
	assert.Contains(t, err.Error(), `"matrix"`)
	_, err = s.Update(ctx, chat.Ref{Room: room("teams", "r"), ID: "1"}, chat.Post{})
	require.ErrorIs(t, err, chat.ErrUnknownAdapter)
	assert.Contains(t, err.Error(), `"teams"`)
}

func TestSenderAdapterErrorIsWrapped(t *testing.T) {
	a := newPlain("irc")
	a.fail = fmt.Errorf("flood: %w", chat.ErrPermanent)
	_, err := chat.NewSender(a).Post(context.Background(), room("irc", "#ops"), chat.Post{Text: "hi"})
	require.ErrorIs(t, err, chat.ErrPermanent)
	assert.Contains(t, err.Error(), "irc:#ops")
}

func TestSenderRendering(t *testing.T) {
	rich := chat.Post{
		Text:     "*Deploy* of `api` [log](https://ci/1)",
		Severity: chat.SeverityCritical,
		Fields:   []chat.Field{{Name: "Env", Value: "production"}, {Name: "Ref", Value: "main"}},
		Links:    []chat.Link{{Title: "Dashboard", URL: "https://grafana/d"}, {URL: "https://bare"}},
		Image:    &chat.Image{URL: "https://img/graph.png", Alt: "graph"},
		Buttons:  []chat.Button{{Label: "Approve", Value: "yes 1"}, {Label: "Cancel", Value: "no 1"}},
	}
	tests := []struct {
		name    string
		adapter func() chat.Adapter
		post    chat.Post
		want    chat.Post
	}{
		{
			name:    "plain chat gets everything folded into the text",
			adapter: func() chat.Adapter { return newPlain("x") },
			post:    rich,
			want: chat.Post{
				Text: "[CRITICAL] Deploy of api log (https://ci/1)\n" +
					"Env: production\nRef: main\n" +
					"Dashboard: https://grafana/d\nhttps://bare\n" +
					"graph: https://img/graph.png\n" +
					"1. Approve\n2. Cancel — reply with the number",
				Severity: chat.SeverityCritical,
			},
		},
		{
			name:    "declined capabilities are the same as missing ones",
			adapter: func() chat.Adapter { return decliningAdapter{newPlain("x")} },
			post:    chat.Post{Text: "_warn_", Severity: chat.SeverityWarning, Buttons: rich.Buttons},
			want: chat.Post{
				Text:     "[WARNING] warn\n1. Approve\n2. Cancel — reply with the number",
				Severity: chat.SeverityWarning,
			},
		},
		{
			name:    "a rich chat gets the post as it is",
			adapter: func() chat.Adapter { return richAdapter{threadAdapter{newPlain("x")}} },
			post:    rich,
			want:    rich,
		},
		{
			name:    "info and success have no marker",
			adapter: func() chat.Adapter { return newPlain("x") },
			post:    chat.Post{Text: "ok", Severity: chat.SeveritySuccess},
			want:    chat.Post{Text: "ok", Severity: chat.SeveritySuccess},
		},
		{
			name:    "fields without text",
			adapter: func() chat.Adapter { return newPlain("x") },
			post:    chat.Post{Severity: chat.SeverityCritical, Fields: []chat.Field{{Name: "a", Value: "b"}}},
			want:    chat.Post{Text: "[CRITICAL]\na: b", Severity: chat.SeverityCritical},
		},
		{
			name:    "an image without a URL stays for the adapter",
			adapter: func() chat.Adapter { return newPlain("x") },
			post:    chat.Post{Text: "graph", Image: &chat.Image{Data: []byte{1}}},
			want:    chat.Post{Text: "graph", Image: &chat.Image{Data: []byte{1}}},
		},
		{
			name:    "a thread key on a chat without threads becomes a prefix",
			adapter: func() chat.Adapter { return newPlain("x") },
			post:    chat.Post{Text: "started", ThreadKey: "deploy #42"},
			want:    chat.Post{Text: "[deploy #42] started", ThreadKey: "deploy #42"},
		},
		{
			name:    "a thread key on a chat with threads stays a key",
			adapter: func() chat.Adapter { return threadAdapter{newPlain("x")} },
			post:    chat.Post{Text: "started", ThreadKey: "deploy #42"},
			want:    chat.Post{Text: "started", ThreadKey: "deploy #42"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.adapter()
			_, err := chat.NewSender(a).Post(context.Background(), room("x", "r"), tt.post)
			require.NoError(t, err)
			calls := a.(interface{ Calls() []call }).Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, tt.want, calls[0].post)
		})
	}
}

func TestSenderChoices(t *testing.T) {
	ctx := context.Background()
	buttons := []chat.Button{{Label: "Approve", Value: "yes 4821"}, {Label: "Cancel", Value: "no 4821"}}
	ops := room("irc", "#ops")
	newSender := func() (*chat.Sender, *clock.Fake) {
		clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
		s := chat.NewSender(newPlain("irc"))
		s.SetClock(clk)
		return s, clk
	}

	t.Run("a number resolves once", func(t *testing.T) {
		s, _ := newSender()
		_, err := s.Post(ctx, ops, chat.Post{Text: "Deploy?", Buttons: buttons})
		require.NoError(t, err)
		for _, bad := range []string{"0", "3", "-1", "one", ""} {
			_, ok := s.ResolveChoice(ops, chat.Ref{}, bad)
			assert.False(t, ok, bad)
		}
		v, ok := s.ResolveChoice(ops, chat.Ref{}, " 2 ")
		require.True(t, ok)
		assert.Equal(t, "no 4821", v)
		_, ok = s.ResolveChoice(ops, chat.Ref{}, "1")
		assert.False(t, ok, "a choice resolves once")
	})

	t.Run("only in its room", func(t *testing.T) {
		s, _ := newSender()
		_, err := s.Post(ctx, ops, chat.Post{Buttons: buttons})
		require.NoError(t, err)
		_, ok := s.ResolveChoice(room("irc", "#dev"), chat.Ref{}, "1")
		assert.False(t, ok)
		_, ok = s.ResolveChoice(room("web", "#ops"), chat.Ref{}, "1")
		assert.False(t, ok)
		v, ok := s.ResolveChoice(ops, chat.Ref{}, "1.")
		assert.True(t, ok)
		assert.Equal(t, "yes 4821", v)
	})

	t.Run("expires after ten minutes by default", func(t *testing.T) {
		s, clk := newSender()
		_, err := s.Post(ctx, ops, chat.Post{Buttons: buttons})
		require.NoError(t, err)
		clk.Advance(9 * time.Minute)
		_, err = s.Post(ctx, room("irc", "#dev"), chat.Post{Buttons: buttons})
		require.NoError(t, err)
		clk.Advance(time.Minute)
		_, ok := s.ResolveChoice(ops, chat.Ref{}, "1")
		assert.False(t, ok)
		_, ok = s.ResolveChoice(room("irc", "#dev"), chat.Ref{}, "1")
		assert.True(t, ok)
	})

	t.Run("configurable expiry", func(t *testing.T) {
		s, clk := newSender()
		s.SetChoiceTTL(time.Minute)
		_, err := s.Post(ctx, ops, chat.Post{Buttons: buttons})
		require.NoError(t, err)
		clk.Advance(61 * time.Second)
		_, ok := s.ResolveChoice(ops, chat.Ref{}, "1")
		assert.False(t, ok)
	})

	t.Run("a newer list replaces the older", func(t *testing.T) {
		s, _ := newSender()
		_, err := s.Post(ctx, ops, chat.Post{Buttons: buttons})
		require.NoError(t, err)
		_, err = s.Post(ctx, ops, chat.Post{Buttons: []chat.Button{{Label: "api", Value: "deploy api"}}})
		require.NoError(t, err)
		v, ok := s.ResolveChoice(ops, chat.Ref{}, "1")
		require.True(t, ok)
		assert.Equal(t, "deploy api", v)
	})

	t.Run("an edit without buttons withdraws the list", func(t *testing.T) {
		for _, a := range []chat.Adapter{newPlain("irc"), editAdapter{newPlain("irc")}} {
			s := chat.NewSender(a)
			ref, err := s.Post(ctx, ops, chat.Post{Text: "Deploy?", Buttons: buttons})
			require.NoError(t, err)
			_, err = s.Update(ctx, ref, chat.Post{Text: "Approved by alice"})
			require.NoError(t, err)
			_, ok := s.ResolveChoice(ops, chat.Ref{}, "1")
			assert.False(t, ok, "%T", a)
		}
	})

	t.Run("in a thread where the chat threads", func(t *testing.T) {
		s := chat.NewSender(threadAdapter{newPlain("irc")})
		root, err := s.Post(ctx, ops, chat.Post{Text: "deploying"})
		require.NoError(t, err)
		_, err = s.PostInThread(ctx, root, chat.Post{Text: "Which env?", Buttons: buttons})
		require.NoError(t, err)
		_, ok := s.ResolveChoice(ops, chat.Ref{}, "1")
		assert.False(t, ok, "a reply outside the thread is no answer")
		v, ok := s.ResolveChoice(ops, chat.Ref{Room: ops, ID: root.ID}, "1")
		require.True(t, ok)
		assert.Equal(t, "yes 4821", v)
	})

	t.Run("in the room where the chat does not thread", func(t *testing.T) {
		s := chat.NewSender(newPlain("irc"))
		root, err := s.Post(ctx, ops, chat.Post{Text: "deploying"})
		require.NoError(t, err)
		_, err = s.PostInThread(ctx, root, chat.Post{Text: "Which env?", Buttons: buttons})
		require.NoError(t, err)
		v, ok := s.ResolveChoice(ops, chat.Ref{}, "2")
		require.True(t, ok)
		assert.Equal(t, "no 4821", v)
	})

	t.Run("no list where the chat has buttons", func(t *testing.T) {
		s := chat.NewSender(richAdapter{threadAdapter{newPlain("irc")}})
		_, err := s.Post(ctx, ops, chat.Post{Buttons: buttons})
		require.NoError(t, err)
		_, ok := s.ResolveChoice(ops, chat.Ref{}, "1")
		assert.False(t, ok)
	})
}

// editAdapter edits but does not thread.
type editAdapter struct{ *plainAdapter }

func (a editAdapter) Update(_ context.Context, ref chat.Ref, p chat.Post) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, call{op: "update", room: ref.Room, ref: ref, post: p})
	return nil
}

func TestSenderThreads(t *testing.T) {
	ctx := context.Background()
	ops := room("irc", "#ops")

	t.Run("a chat with threads posts in the thread", func(t *testing.T) {
		a := threadAdapter{newPlain("irc")}
		s := chat.NewSender(a)
		root, err := s.Post(ctx, ops, chat.Post{Text: "deploying", ThreadKey: "deploy #42"})
		require.NoError(t, err)
		reply, err := s.PostInThread(ctx, root, chat.Post{Text: "step 1"})
		require.NoError(t, err)
		assert.Equal(t, root.ID, reply.Thread)
		calls := a.Calls()
		require.Len(t, calls, 2)
		assert.Equal(t, "thread", calls[1].op)
		assert.Equal(t, root, calls[1].parent)
		assert.Equal(t, chat.Post{Text: "step 1", ThreadKey: "deploy #42"}, calls[1].post)
	})

	t.Run("a chat without threads gets the key as a prefix", func(t *testing.T) {
		a := newPlain("irc")
		s := chat.NewSender(a)
		root, err := s.Post(ctx, ops, chat.Post{Text: "deploying", ThreadKey: "deploy #42"})
		require.NoError(t, err)
		reply, err := s.PostInThread(ctx, root, chat.Post{Text: "step 1"})
		require.NoError(t, err)
		_, err = s.PostInThread(ctx, reply, chat.Post{Text: "step 2"})
		require.NoError(t, err)
		_, err = s.PostInThread(ctx, root, chat.Post{Text: "other", ThreadKey: "incident #7"})
		require.NoError(t, err)
		_, err = s.PostInThread(ctx, chat.Ref{Room: ops, ID: "unknown"}, chat.Post{Text: "lost"})
		require.NoError(t, err)
		assert.Equal(t, []string{
			"[deploy #42] deploying",
			"[deploy #42] step 1",
			"[deploy #42] step 2",
			"[incident #7] other",
			"lost",
		}, a.texts())
		for _, c := range a.Calls() {
			assert.Equal(t, "post", c.op)
			assert.Equal(t, ops, c.room)
		}
	})
}

func TestSenderUpdate(t *testing.T) {
	ctx := context.Background()
	ops := room("irc", "#ops")

	t.Run("a chat with edits edits", func(t *testing.T) {
		a := editAdapter{newPlain("irc")}
		s := chat.NewSender(a)
		ref, err := s.Post(ctx, ops, chat.Post{Text: "deploying", ThreadKey: "deploy #42"})
		require.NoError(t, err)
		got, err := s.Update(ctx, ref, chat.Post{Text: "*deployed*"})
		require.NoError(t, err)
		assert.Equal(t, ref, got)
		calls := a.Calls()
		require.Len(t, calls, 2)
		assert.Equal(t, call{op: "update", room: ops, ref: ref, post: chat.Post{Text: "[deploy #42] deployed", ThreadKey: "deploy #42"}}, calls[1])
	})

	t.Run("a chat without edits gets a new post", func(t *testing.T) {
		a := newPlain("irc")
		s := chat.NewSender(a)
		ref, err := s.Post(ctx, ops, chat.Post{Text: "deploying"})
		require.NoError(t, err)
		got, err := s.Update(ctx, ref, chat.Post{Text: "deployed"})
		require.NoError(t, err)
		assert.NotEqual(t, ref.ID, got.ID)
		assert.Equal(t, []string{"deploying", "deployed"}, a.texts())
	})

	t.Run("a new post stays in the thread", func(t *testing.T) {
		a := threadAdapter{newPlain("irc")}
		s := chat.NewSender(a)
		root, err := s.Post(ctx, ops, chat.Post{Text: "deploying"})
		require.NoError(t, err)
		step, err := s.PostInThread(ctx, root, chat.Post{Text: "step 1 running"})
		require.NoError(t, err)
		got, err := s.Update(ctx, step, chat.Post{Text: "step 1 done"})
		require.NoError(t, err)
		assert.Equal(t, root.ID, got.Thread)
		calls := a.Calls()
		require.Len(t, calls, 3)
		assert.Equal(t, "thread", calls[2].op)
		assert.Equal(t, root.ID, calls[2].parent.ID)
	})

	t.Run("text over the limit follows the edit", func(t *testing.T) {
		a := limitedEditor{editAdapter{newPlain("irc")}}
		s := chat.NewSender(a)
		ref, err := s.Post(ctx, ops, chat.Post{Text: "short"})
		require.NoError(t, err)
		got, err := s.Update(ctx, ref, chat.Post{Text: "aaaaaaaa\nbbbbbbbb\ncccccccc"})
		require.NoError(t, err)
		assert.Equal(t, ref, got)
		var ops []string
		for _, c := range a.Calls() {
			ops = append(ops, c.op+" "+c.post.Text)
		}
		assert.Equal(t, []string{"post short", "update aaaaaaaa", "post bbbbbbbb", "post cccccccc"}, ops)
	})
}

type limitedEditor struct{ editAdapter }

func (limitedEditor) MaxPostLen() int { return 10 }

func TestSenderSplitsLongPosts(t *testing.T) {
	ctx := context.Background()
	a := limitedAdapter{newPlain("irc"), 400}
	s := chat.NewSender(a)
	var lines []string
	for i := range 500 {
		lines = append(lines, fmt.Sprintf("line %03d: héllo wörld", i))
	}
	ref, err := s.Post(ctx, room("irc", "#ops"), chat.Post{
		Text:      strings.Join(lines, "\n"),
		ThreadKey: "deploy #42",
		Mentions:  []string{"alice"},
		Buttons:   []chat.Button{{Label: "Retry", Value: "retry"}},
	})
	require.NoError(t, err)
	calls := a.Calls()
	require.Greater(t, len(calls), 10)
	assert.Equal(t, calls[0].ref, ref, "the ref names the first part")
	var got []string
	for i, c := range calls {
		require.LessOrEqual(t, len(c.post.Text), 400)
		text, ok := strings.CutPrefix(c.post.Text, "[deploy #42] ")
		require.True(t, ok, "every part carries the thread key")
		got = append(got, strings.Split(text, "\n")...)
		if i == 0 {
			assert.Equal(t, []string{"alice"}, c.post.Mentions)
		} else {
			assert.Empty(t, c.post.Mentions, "mention once")
		}
	}
	assert.Equal(t, append(lines, "1. Retry — reply with the number"), got)
	v, ok := s.ResolveChoice(room("irc", "#ops"), chat.Ref{}, "1")
	assert.True(t, ok)
	assert.Equal(t, "retry", v)
}

func TestSenderKeepsPartsTogether(t *testing.T) {
	ctx := context.Background()
	a := limitedAdapter{newPlain("irc"), 20}
	s := chat.NewSender(a)
	ops := room("irc", "#ops")
	const posts = 20
	var wg sync.WaitGroup
	for i := range posts {
		wg.Go(func() {
			text := strings.Repeat(fmt.Sprintf("post %02d\n", i), 10)
			_, err := s.Post(ctx, ops, chat.Post{Text: text})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	calls := a.Calls()
	seen := map[string]bool{}
	last := ""
	for _, c := range calls {
		id := c.post.Text[:7]
		if id != last {
			require.False(t, seen[id], "parts of %q were interleaved with other posts", id)
			seen[id] = true
			last = id
		}
	}
	assert.Len(t, seen, posts)
}

func TestSenderWaitsForTheRoomWithinTheContext(t *testing.T) {
	a := &blockingAdapter{plainAdapter: newPlain("irc"), entered: make(chan struct{}), release: make(chan struct{})}
	s := chat.NewSender(a)
	ops := room("irc", "#ops")
	done := make(chan error, 1)
	go func() {
		_, err := s.Post(context.Background(), ops, chat.Post{Text: "slow"})
		done <- err
	}()
	<-a.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Post(ctx, ops, chat.Post{Text: "waits"})
	require.ErrorIs(t, err, context.Canceled)
	close(a.release)
	require.NoError(t, <-done)
	_, err = s.Post(context.Background(), room("irc", "#dev"), chat.Post{Text: "other room"})
	require.NoError(t, err)
}

// blockingAdapter's first post waits until release is closed.
type blockingAdapter struct {
	*plainAdapter
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (a *blockingAdapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	first := false
	a.once.Do(func() { first = true })
	if first {
		close(a.entered)
		<-a.release
	}
	return a.plainAdapter.Post(ctx, to, p)
}

func TestSenderHandled(t *testing.T) {
	acking := ackAdapter{newPlain("shell")}
	s := chat.NewSender(acking, newPlain("irc"))
	s.Handled(chat.Message{ID: "m1", Room: room("shell", "shell")})
	s.Handled(chat.Message{ID: "m2", Room: room("irc", "#ops")})
	s.Handled(chat.Message{ID: "m3", Room: room("gone", "x")})
	assert.Equal(t, []string{"m1"}, acking.acked)
}

func TestSenderConcurrentUse(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	s := chat.NewSender(newPlain("irc"), threadAdapter{newPlain("xmpp")})
	s.SetClock(clk)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r := room([]string{"irc", "xmpp"}[i%2], fmt.Sprintf("#r%d", i%3))
			for j := range 50 {
				ref, err := s.Post(ctx, r, chat.Post{Text: "q", ThreadKey: "k", Buttons: []chat.Button{{Label: "a", Value: "v"}}})
				if !assert.NoError(t, err) {
					return
				}
				_, err = s.PostInThread(ctx, ref, chat.Post{Text: "t"})
				assert.NoError(t, err)
				_, err = s.Update(ctx, ref, chat.Post{Text: "u"})
				assert.NoError(t, err)
				s.ResolveChoice(r, chat.Ref{}, strconv.Itoa(j%2))
				if j%10 == 0 {
					clk.Advance(time.Minute)
					s.SetChoiceTTL(time.Duration(j+1) * time.Minute)
				}
			}
		})
	}
	wg.Wait()
}
