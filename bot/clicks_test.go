package bot_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/chat"
)

// clicky is a chat that answers clicks in place (as Slack does): privately
// to the clicker, or by replacing the clicked post.
type clicky struct {
	mu      sync.Mutex
	answers []answer
	posts   []string
	fail    bool
}

type answer struct {
	text    string
	private bool
}

func (*clicky) Name() string                                         { return "clicky" }
func (*clicky) Run(ctx context.Context, _ chan<- chat.Message) error { <-ctx.Done(); return nil }
func (c *clicky) Post(_ context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts = append(c.posts, p.Text)
	return chat.Ref{Room: to, ID: "1"}, nil
}

func (*clicky) RateLimits() chat.RateLimits { return chat.RateLimits{} }

func (c *clicky) AnswerClick(_ context.Context, _ chat.Message, p chat.Post, private bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return errors.New("the click expired")
	}
	c.answers = append(c.answers, answer{p.Text, private})
	return nil
}

func (c *clicky) take() []answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.answers
	c.answers = nil
	return out
}

func click(tb *bottest.Bot, user, value string) []bottest.Posted {
	m := tb.Message(user, "ops", value)
	m.Room.Adapter = "clicky"
	m.Action = &chat.Action{ID: "b", Value: value}
	return tb.Send(m)
}

func TestClicksOnConfirmationsAreAnsweredInPlace(t *testing.T) {
	tb, m := newBot(t)
	c := &clicky{}
	tb.Bot.Sender().Add(c)
	tb.User("alice", "ops")
	tb.User("mallory", "ops")
	tb.Grant("drop", "group:ops")
	code := codeRE.FindStringSubmatch(tb.Say("alice", "ops", "drop users"))[1]

	click(tb, "mallory", "yes "+code)
	require.Empty(t, c.posts, "someone else's click is not answered for everyone")
	got := c.take()
	require.Len(t, got, 1)
	require.True(t, got[0].private)
	require.Contains(t, got[0].text, "Not yours")
	require.Empty(t, m.ran)

	posts := click(tb, "alice", "yes "+code)
	require.Equal(t, []answer{{"Confirmed `drop users` (alice).", false}}, c.take(), "the clicked confirmation is replaced")
	require.Contains(t, bottest.Texts(posts), "ran drop")
	require.Equal(t, []string{"drop users"}, m.ran)

	code = codeRE.FindStringSubmatch(tb.Say("alice", "ops", "drop sessions"))[1]
	click(tb, "alice", "no "+code)
	require.Empty(t, c.posts, "a cancel click is answered in place only")
	require.Equal(t, []answer{{"Cancelled `drop sessions` (alice); nothing was run.", false}}, c.take())

	// When the chat can't answer in place, the bot replies as usual.
	c.fail = true
	code = codeRE.FindStringSubmatch(tb.Say("alice", "ops", "drop caches"))[1]
	click(tb, "mallory", "yes "+code)
	click(tb, "alice", "no "+code)
	require.Len(t, c.posts, 2)
	require.Contains(t, c.posts[0], "no open confirmation")
	require.Contains(t, c.posts[1], "Cancelled drop caches")
}
