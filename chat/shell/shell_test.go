package shell_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/shell"
)

const timeout = 5 * time.Second

// syncBuffer is an output the test reads while the shell writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness runs the shell over a pipe, as `opsbot shell` would over a terminal.
type harness struct {
	adapter *shell.Adapter
	input   *io.PipeWriter
	out     *syncBuffer
}

func newHarness(t *testing.T) chattest.Harness {
	r, w := io.Pipe()
	out := &syncBuffer{}
	// Interactive is asked for but In and Out are no terminals: plain lines.
	a := shell.New(shell.Options{In: r, Out: out, User: "nobody", Room: "lobby", Interactive: true})
	t.Cleanup(func() { _ = w.Close() })
	return &harness{adapter: a, input: w, out: out}
}

func (h *harness) Adapter() chat.Adapter { return h.adapter }

func (h *harness) Say(t *testing.T, user, room, text string) {
	_, err := io.WriteString(h.input, "/user "+user+"\n/room "+room+"\n"+text+"\n")
	require.NoError(t, err)
}

func (h *harness) Seen(_ *testing.T, room string) []string {
	return shell.Seen(shell.ParseTranscript(h.out.String()), room)
}

func (h *harness) Drop(*testing.T) bool { return false }

func TestSuite(t *testing.T) {
	chattest.Run(t, newHarness)
}

// echoBot answers every message with "echo: TEXT", in its thread if it has
// one, and marks it handled, as the bot does.
func echoBot(ctx context.Context, s *chat.Sender, in <-chan chat.Message) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-in:
			p := chat.Post{Text: "echo: " + m.Text + " from " + m.From.ID}
			if m.Thread.IsZero() {
				_, _ = s.Post(ctx, m.Room, p)
			} else {
				_, _ = s.PostInThread(ctx, m.Thread, p)
			}
			s.Handled(m)
		}
	}
}

// runSession runs a shell over input with the echo bot until the session ends.
func runSession(t *testing.T, opts shell.Options, input string) (string, []chat.Message) {
	t.Helper()
	out := &syncBuffer{}
	opts.In, opts.Out = strings.NewReader(input), out
	a := shell.New(opts)
	s := chat.NewSender(a)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	in := make(chan chat.Message)
	recorded := make(chan chat.Message, 100)
	tee := make(chan chat.Message)
	go echoBot(ctx, s, tee)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-in:
				recorded <- m
				tee <- m
			}
		}
	}()
	require.NoError(t, a.Run(ctx, in))
	select {
	case <-a.Done():
	default:
		t.Fatal("Run returned but Done is open")
	}
	require.NoError(t, ctx.Err(), "the session ended by its timeout")
	close(recorded)
	var msgs []chat.Message
	for m := range recorded {
		msgs = append(msgs, m)
	}
	return out.String(), msgs
}

func TestPipedLinesAreAllAnsweredBeforeRunReturns(t *testing.T) {
	out, msgs := runSession(t, shell.Options{User: "alice"}, "help\nwhoami\nping")
	require.Len(t, msgs, 3)
	assert.Equal(t, "[shell] opsbot: echo: help from alice (#1)\n"+
		"[shell] opsbot: echo: whoami from alice (#2)\n"+
		"[shell] opsbot: echo: ping from alice (#3)\n", out)
	for _, m := range msgs {
		assert.True(t, m.Direct)
		assert.Equal(t, chat.Room{Adapter: "shell", ID: "shell", Name: "shell"}, m.Room)
		assert.Equal(t, chat.Identity{Adapter: "shell", ID: "alice", Name: "alice"}, m.From)
		assert.True(t, m.Thread.IsZero())
		assert.Nil(t, m.Action)
	}
	assert.NotEqual(t, msgs[0].ID, msgs[1].ID)
}

func TestRunWaitsForTheBot(t *testing.T) {
	a := shell.New(shell.Options{In: strings.NewReader("one\ntwo\n"), Out: io.Discard})
	in := make(chan chat.Message)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(context.Background(), in) }()
	first := <-in
	select {
	case m := <-in:
		t.Fatalf("%q was sent before %q was handled", m.Text, first.Text)
	default:
	}
	a.Handled(first)
	second := <-in
	a.Handled(chat.Message{ID: "not delivered"})
	a.Handled(first)
	select {
	case <-a.Done():
		t.Fatal("done with a message still unhandled")
	case err := <-ran:
		t.Fatalf("Run returned %v with a message still unhandled", err)
	default:
	}
	a.Handled(second)
	select {
	case err := <-ran:
		require.NoError(t, err)
	case <-time.After(timeout):
		t.Fatal("Run did not return once every message was handled")
	}
	<-a.Done()
}

func TestRunEndsWithItsContext(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	a := shell.New(shell.Options{In: r, Out: io.Discard})
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan chat.Message, 1)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx, in) }()
	_, err := io.WriteString(w, "unanswered\n")
	require.NoError(t, err)
	<-in
	cancel()
	select {
	case err := <-ran:
		require.NoError(t, err)
	case <-time.After(timeout):
		t.Fatal("Run did not return when its context ended")
	}
}

func TestRunEndsWithItsContextWhileWaitingForTheBot(t *testing.T) {
	a := shell.New(shell.Options{In: strings.NewReader("never handled\n"), Out: io.Discard})
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan chat.Message, 1)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx, in) }()
	<-in
	cancel()
	require.NoError(t, <-ran)
}

func TestRunOnce(t *testing.T) {
	a := shell.New(shell.Options{In: strings.NewReader(""), Out: io.Discard})
	require.NoError(t, a.Run(context.Background(), make(chan chat.Message)))
	require.Error(t, a.Run(context.Background(), make(chan chat.Message)))
}

func TestRunReportsInputErrors(t *testing.T) {
	broken := errors.New("disk on fire")
	a := shell.New(shell.Options{In: iotest.ErrReader(broken), Out: io.Discard})
	err := a.Run(context.Background(), make(chan chat.Message))
	require.ErrorIs(t, err, broken)
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		want   []string // "room thread user text" of each message
		output []string // lines the output must contain
	}{
		{
			name:  "room",
			input: "a\n/room ops\nb\n/room\n/room two words\nc\n",
			want:  []string{"shell - alice a", "ops - alice b", "ops - alice c"},
			output: []string{
				"* you are in room ops\n",
				"* a room name is one word without [ ] or #\n",
				"[ops] opsbot: echo: b from alice (#2)\n",
			},
		},
		{
			name:  "user",
			input: "/user bob\nhi\n/user\n/user x y\n",
			want:  []string{"shell - bob hi"},
			output: []string{
				"* you are bob\n[shell] opsbot: echo: hi from bob (#1)\n* you are bob\n* a user name is one word\n",
			},
		},
		{
			name:  "thread of a post",
			input: "deploy\n/thread 1\nstatus\n/thread #2\nmore\n/thread\nback\n",
			want:  []string{"shell - alice deploy", "shell 1 alice status", "shell 1 alice more", "shell - alice back"},
			output: []string{
				"* you are in thread shell #1\n",
				"[shell #1] opsbot: echo: status from alice (#2)\n",
				"[shell #1] opsbot: echo: more from alice (#3)\n",
				"[shell] opsbot: echo: back from alice (#4)\n",
			},
		},
		{
			name:   "thread of an unknown post",
			input:  "/thread 99\nx\n",
			want:   []string{"shell - alice x"},
			output: []string{"* there is no post #99; posts show their number like (#12)\n"},
		},
		{
			name:   "thread switches to the post's room",
			input:  "/room ops\na\n/room dev\n/thread 1\nb\n",
			want:   []string{"ops - alice a", "ops 1 alice b"},
			output: []string{"* you are in thread ops #1\n"},
		},
		{
			name:   "room leaves the thread",
			input:  "a\n/thread 1\n/room shell\nb\n",
			want:   []string{"shell - alice a", "shell - alice b"},
			output: []string{"[shell] opsbot: echo: b from alice (#2)\n"},
		},
		{
			name:   "help",
			input:  "/help\n",
			output: []string{"* shell commands", "/thread ID", "/quit"},
		},
		{
			name:   "unknown command",
			input:  "/deploy api\n",
			output: []string{"* unknown command /deploy; /help lists them\n"},
		},
		{
			name:  "a double slash sends a slash",
			input: "//deploy api\n",
			want:  []string{"shell - alice /deploy api"},
		},
		{
			name:  "quit ends the session",
			input: "a\n/quit\nb\n",
			want:  []string{"shell - alice a"},
		},
		{
			name:  "blank lines and spaces",
			input: "\n   \n  ping  \r\n",
			want:  []string{"shell - alice ping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, msgs := runSession(t, shell.Options{User: "alice"}, tt.input)
			var got []string
			for _, m := range msgs {
				thread := m.Thread.ID
				if thread == "" {
					thread = "-"
				} else {
					assert.Equal(t, m.Room, m.Thread.Room)
				}
				got = append(got, m.Room.ID+" "+thread+" "+m.From.ID+" "+m.Text)
			}
			assert.Equal(t, tt.want, got)
			for _, o := range tt.output {
				assert.Contains(t, out, o)
			}
		})
	}
}

func TestThreadOfAMessage(t *testing.T) {
	// The bot threads under the user's message, whose ID the shell then accepts.
	r, w := io.Pipe()
	a := shell.New(shell.Options{In: r, Out: io.Discard, User: "alice"})
	in := make(chan chat.Message)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(context.Background(), in) }()
	go func() { _, _ = io.WriteString(w, "deploy api\n") }()
	first := <-in
	ref, err := a.PostInThread(context.Background(), chat.Ref{Room: first.Room, ID: first.ID}, chat.Post{Text: "deploying"})
	require.NoError(t, err)
	assert.Equal(t, first.ID, ref.Thread)
	a.Handled(first)
	go func() { _, _ = io.WriteString(w, "/thread "+first.ID+"\nhow is it going\n"); _ = w.Close() }()
	second := <-in
	assert.Equal(t, chat.Ref{Room: first.Room, ID: first.ID}, second.Thread)
	a.Handled(second)
	require.NoError(t, <-ran)
}

func TestDefaults(t *testing.T) {
	t.Setenv("USER", "carol")
	_, msgs := runSession(t, shell.Options{}, "hi\n")
	require.Len(t, msgs, 1)
	assert.Equal(t, "carol", msgs[0].From.ID)
	assert.Equal(t, "shell", msgs[0].Room.ID)

	t.Setenv("USER", "")
	_, msgs = runSession(t, shell.Options{}, "hi\n")
	require.Len(t, msgs, 1)
	assert.Equal(t, "shell", msgs[0].From.ID)
}

func TestCapabilities(t *testing.T) {
	var a chat.Adapter = shell.New(shell.Options{})
	assert.Equal(t, "shell", a.Name())
	_, threads := a.(chat.Threader)
	_, edits := a.(chat.Editor)
	_, buttons := a.(chat.Interactive)
	_, limited := a.(chat.Limiter)
	_, formats := a.(chat.Formatter)
	_, rich := a.(chat.RichPoster)
	assert.Equal(t, []bool{true, true, false, false, false, false}, []bool{threads, edits, buttons, limited, formats, rich})
}
