//go:build linux

package shell_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/shell"
)

// openPTY returns both ends of a new pseudo-terminal.
func openPTY(t *testing.T) (controller, tty *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	controller = os.NewFile(uintptr(fd), "/dev/ptmx")
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	require.NoError(t, err)
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = tty.Close()
		_ = controller.Close()
	})
	return controller, tty
}

// screen collects what the terminal shows and lets a test wait for text.
type screen struct {
	mu      sync.Mutex
	text    strings.Builder
	changed chan struct{}
}

func watch(f *os.File) *screen {
	s := &screen{changed: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.text.Write(buf[:n])
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		text, changed := s.text.String(), s.changed
		s.mu.Unlock()
		if strings.Contains(text, want) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%q not shown within %s; the terminal shows %q", want, timeout, text)
		}
	}
}

func TestInteractiveTerminal(t *testing.T) {
	controller, tty := openPTY(t)
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	shown := watch(controller)
	type_ := func(s string) {
		_, err := controller.WriteString(s)
		require.NoError(t, err)
	}

	a := shell.New(shell.Options{In: tty, Out: tty, User: "alice", Room: "ops", Interactive: true})
	in := make(chan chat.Message)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(context.Background(), in) }()
	shown.waitFor(t, "alice@ops> ")

	type_("ping\r")
	first := <-in
	assert.Equal(t, "ping", first.Text)
	// Typed lines do not wait for the bot: the next one arrives unanswered.
	type_("/room dev\r")
	shown.waitFor(t, "alice@dev> ")
	type_("\x1b[A\x1b[A\r") // history: up twice is "ping" again
	second := <-in
	assert.Equal(t, "ping", second.Text)
	assert.Equal(t, "dev", second.Room.ID)

	_, err = a.Post(context.Background(), second.Room, chat.Post{Text: "pong\nsecond line"})
	require.NoError(t, err)
	shown.waitFor(t, "[dev] opsbot: pong (#1)\r\n  second line\r\n")
	shown.waitFor(t, "\r\n  second line\r\nalice@dev> ")

	type_("\x04") // Ctrl-D ends the session once the bot is done
	a.Handled(first)
	select {
	case <-a.Done():
		t.Fatal("the session ended with a message unhandled")
	default:
	}
	a.Handled(second)
	require.NoError(t, <-ran)

	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	assert.Equal(t, before.Lflag, after.Lflag, "the terminal is back in its mode")
}
