// Package shell is the terminal chat adapter behind `opsbot shell`: each line
// typed (or piped) is a direct message to the bot, and the bot's posts print as
//
//	[room] opsbot: text (#12)
//	[room #12] opsbot: a reply in the thread of post 12 (#13)
//	(edited #12) [room] opsbot: the new text
//
// with the lines of a longer post indented by two spaces below. Lines the
// shell prints for itself start with "* ". ParseTranscript reads this format
// back.
//
// Lines starting with "/" are shell commands, not messages: /room NAME,
// /thread ID (the following lines are replies in the thread of post ID;
// /thread alone leaves it), /user NAME, /help and /quit. "//text" sends
// "/text".
//
// The shell threads (thread IDs are post IDs) and edits, but has no buttons:
// through a chat.Sender they become a numbered list answered by "1", "2"….
// It has no length limit and no formatting (chat.Plain text).
//
// # Pacing and ending
//
// Lines typed at a terminal are sent as they are typed. Lines read from a
// pipe or file are sent one at a time: each waits until the bot has handled
// the message before it (see below), so a script's transcript is the same on
// every run and "/thread 1" finds post #1 printed.
//
// When its input ends (EOF, Ctrl-D, /quit), the shell waits until the bot has
// handled every message it delivered, then Run returns nil and Done is
// closed. The bot marks a message handled by calling chat.Sender.Handled(msg)
// (which calls Adapter.Handled) once it is finished with it: after its
// replies were posted, whether the command ran, failed, was denied or matched
// nothing. So `printf 'help\nwhoami\nping\n' | opsbot shell` prints the
// three answers before it exits. The shell command runs the bot and waits for
// Done (or a signal), then stops the bot:
//
//	sh := shell.New(shell.Options{In: os.Stdin, Out: os.Stdout, Interactive: true})
//	go b.Run(ctx) // runs sh.Run and calls Sender.Handled for each message
//	select {
//	case <-sh.Done():
//	case <-ctx.Done():
//	}
//
// Run returns nil only when the session is over; it must not be restarted.
// Output the bot posts later, from background work, is printed as long as
// the process runs.
package shell

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/term"

	"github.com/opsbot/opsbot/chat"
)

// Name is the adapter's name.
const Name = "shell"

// Options configure a shell.
type Options struct {
	In  io.Reader // default os.Stdin
	Out io.Writer // default os.Stdout
	// User is who types; default $USER, else "shell".
	User string
	// Room is the room the session starts in; default "shell".
	Room string
	// Interactive enables line editing and history when In and Out are terminals.
	Interactive bool
	// BotName is the name posts print under; default "opsbot".
	BotName string
}

// Adapter is the shell chat adapter.
type Adapter struct {
	in          io.Reader
	interactive bool
	bot         string
	runID       string
	running     atomic.Bool

	writeMu sync.Mutex // serialises output; taken before mu when both are needed
	out     io.Writer
	term    *term.Terminal // while Run reads from a terminal

	mu          sync.Mutex
	user, room  string
	thread      string // root post ID of the current thread, or ""
	lastPost    int
	lastMsg     int
	places      map[string]place         // post and message IDs → where they are
	outstanding map[string]chan struct{} // closed when handled
	inputEnded  bool
	done        chan struct{}
	doneOnce    sync.Once
}

// place is where a post or message is: its room and the root of its thread
// (its own ID when it is not in a thread).
type place struct {
	room, root string
}

var (
	_ chat.Adapter      = (*Adapter)(nil)
	_ chat.Threader     = (*Adapter)(nil)
	_ chat.Editor       = (*Adapter)(nil)
	_ chat.Acknowledger = (*Adapter)(nil)
)

// New returns a shell adapter.
func New(opts Options) *Adapter {
	if opts.In == nil {
		opts.In = os.Stdin
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.User == "" {
		opts.User = os.Getenv("USER")
	}
	if opts.User == "" {
		opts.User = "shell"
	}
	if opts.Room == "" {
		opts.Room = "shell"
	}
	if opts.BotName == "" {
		opts.BotName = "opsbot"
	}
	return &Adapter{
		in:          opts.In,
		out:         opts.Out,
		interactive: opts.Interactive,
		bot:         opts.BotName,
		runID:       newRunID(),
		user:        opts.User,
		room:        opts.Room,
		places:      make(map[string]place),
		outstanding: make(map[string]chan struct{}),
		done:        make(chan struct{}),
	}
}

// newRunID makes message IDs unique across sessions, since the bot claims each
// message ID once.
func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Name is "shell".
func (a *Adapter) Name() string { return Name }

// Run reads lines until In ends or ctx ends, delivering each as a Message.
// After In ends it waits until every delivered message was Handled; it
// returns nil then, or when ctx ends, and an error only when In fails.
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("shell: Run called twice")
	}
	lr, restore, err := a.openInput()
	if err != nil {
		return err
	}
	defer restore()
	_, typed := lr.(termReader)
	stop := make(chan struct{})
	defer close(stop)
	reads, next := readLines(lr, stop)

	for quit := false; !quit; {
		select {
		case <-ctx.Done():
			return nil
		case r := <-reads:
			handled, q := a.handleLine(ctx, r.line, in)
			if r.err != nil && !errors.Is(r.err, io.EOF) {
				return fmt.Errorf("shell: reading input: %w", r.err)
			}
			if quit = q || r.err != nil; quit {
				continue
			}
			if handled != nil && !typed {
				select {
				case <-handled:
				case <-ctx.Done():
					return nil
				}
			}
			next <- struct{}{}
		}
	}
	restore() // give the terminal back, so Ctrl-C interrupts the wait
	a.endInput()
	select {
	case <-a.done:
	case <-ctx.Done():
	}
	return nil
}

type read struct {
	line string
	err  error
}

// readLines reads lines in a goroutine until an error or stop. It reads the
// next line only when told on next, so the prompt shows the room a command
// switched to, and nothing is read after /quit.
func readLines(lr lineReader, stop <-chan struct{}) (<-chan read, chan<- struct{}) {
	reads := make(chan read)
	next := make(chan struct{})
	go func() {
		for {
			line, err := lr.ReadLine()
			select {
			case reads <- read{line, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
			select {
			case <-next:
			case <-stop:
				return
			}
		}
	}()
	return reads, next
}

// Done is closed when the session is over: input ended and every message
// delivered was handled.
func (a *Adapter) Done() <-chan struct{} { return a.done }

// Handled marks a delivered message as finished by the bot.
func (a *Adapter) Handled(msg chat.Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if handled, ok := a.outstanding[msg.ID]; ok {
		close(handled)
		delete(a.outstanding, msg.ID)
	}
	a.checkDone()
}

func (a *Adapter) endInput() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inputEnded = true
	a.checkDone()
}

// checkDone closes done once input ended and nothing is outstanding; a.mu is held.
func (a *Adapter) checkDone() {
	if a.inputEnded && len(a.outstanding) == 0 {
		a.doneOnce.Do(func() { close(a.done) })
	}
}

// handleLine runs a shell command or delivers a message; it returns the
// channel closed when the message is handled (nil for no message), and
// whether the line was /quit.
func (a *Adapter) handleLine(ctx context.Context, line string, in chan<- chat.Message) (handled <-chan struct{}, quit bool) {
	text := strings.TrimSpace(line)
	switch {
	case text == "":
		return nil, false
	case strings.HasPrefix(text, "//"):
		text = text[1:]
	case strings.HasPrefix(text, "/"):
		return nil, a.command(text)
	}
	msg, handled := a.newMessage(text)
	select {
	case in <- msg:
	case <-ctx.Done():
	}
	return handled, false
}

func (a *Adapter) newMessage(text string) (chat.Message, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastMsg++
	msg := chat.Message{
		ID:     fmt.Sprintf("%s-%d", a.runID, a.lastMsg),
		Room:   room(a.room),
		From:   chat.Identity{Adapter: Name, ID: a.user, Name: a.user},
		Text:   text,
		Direct: true,
	}
	root := msg.ID
	if a.thread != "" {
		msg.Thread = chat.Ref{Room: msg.Room, ID: a.thread}
		root = a.thread
	}
	a.places[msg.ID] = place{room: a.room, root: root}
	handled := make(chan struct{})
	a.outstanding[msg.ID] = handled
	return msg, handled
}

func room(name string) chat.Room { return chat.Room{Adapter: Name, ID: name, Name: name} }
