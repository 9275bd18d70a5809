// Package chattest is the test suite every chat adapter runs: a harness puts
// the adapter in front of its chat (a real server on loopback or a fake that
// follows the chat's API), and Run checks what the chat model promises —
// inbound messages, posts, threads, buttons, long posts, reconnection and
// order — through a chat.Sender, so the fallbacks are tested with each
// adapter's real capabilities.
//
//	func TestSuite(t *testing.T) {
//		chattest.Run(t, func(t *testing.T) chattest.Harness { return newHarness(t) })
//	}
package chattest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opsbot/opsbot/chat"
)

// Timeout bounds every wait of the suite.
const Timeout = 5 * time.Second

// Harness puts one adapter in front of its chat for one subtest. Room and
// user names are plain words ("ops", "dev", "alice"); the harness maps them to
// what its chat needs ("#ops", "ops@conference.localhost", "U024BE7LH").
//
// The suite calls Adapter once, starts its Run before the first Say, and ends
// it when the subtest ends (registered with t.Cleanup after newHarness
// returns, so it runs before the harness's own cleanups).
type Harness interface {
	Adapter() chat.Adapter
	// Say makes a chat user send text in a room (as the chat would deliver it
	// to the bot). It returns once the chat accepted the message; a harness
	// whose chat drops messages sent before the adapter joined the room waits
	// for that join here.
	Say(t *testing.T, user, room, text string)
	// Seen returns what a person in the room would see of the bot's posts so
	// far (rendered text, one string per post).
	Seen(t *testing.T, room string) []string
	// Drop breaks the adapter's connection (the adapter must reconnect by
	// itself); harnesses that cannot, return false.
	Drop(t *testing.T) bool
}

// Run runs the suite against adapters made by newHarness, one per subtest.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *session)
	}{
		{"receive a command", testReceive},
		{"reply in the room", testReply},
		{"post to another room", testOtherRoom},
		{"thread or its fallback", testThread},
		{"buttons or their numbered fallback", testButtons},
		{"long message", testLongMessage},
		{"reconnect", testReconnect},
		{"posts in order per room", testOrder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, start(t, newHarness(t)))
		})
	}
}

// session is one adapter running for one subtest.
type session struct {
	h       Harness
	adapter chat.Adapter
	sender  *chat.Sender
	ctx     context.Context
	in      chan chat.Message
	runDone chan struct{}
	runErr  error
}

func start(t *testing.T, h Harness) *session {
	t.Helper()
	a := h.Adapter()
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		h:       h,
		adapter: a,
		sender:  chat.NewSender(a),
		ctx:     ctx,
		in:      make(chan chat.Message, 64),
		runDone: make(chan struct{}),
	}
	go func() {
		defer close(s.runDone)
		s.runErr = a.Run(ctx, s.in)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.runDone:
			if s.runErr != nil && !errors.Is(s.runErr, context.Canceled) {
				t.Errorf("%s: Run returned %v once its context ended", a.Name(), s.runErr)
			}
		case <-time.After(Timeout):
			t.Errorf("%s: Run did not return within %s of its context ending", a.Name(), Timeout)
		}
	})
	return s
}

// say makes user say text in room and returns the message the adapter delivers.
func (s *session) say(t *testing.T, user, room, text string) chat.Message {
	t.Helper()
	s.h.Say(t, user, room, text)
	m, ok := s.receive(t, func(m chat.Message) bool { return m.Text == text }, Timeout)
	if !ok {
		t.Fatalf("%s: %q said by %s in %s did not arrive within %s", s.adapter.Name(), text, user, room, Timeout)
	}
	return m
}

// receive waits up to d for a message that match accepts, skipping others.
func (s *session) receive(t *testing.T, match func(chat.Message) bool, d time.Duration) (chat.Message, bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case m := <-s.in:
			s.sender.Handled(m)
			if match(m) {
				return m, true
			}
			t.Logf("skipping message %q from %s in %s", m.Text, m.From.Key(), m.Room)
		case <-s.runDone:
			t.Fatalf("%s: Run returned early: %v", s.adapter.Name(), s.runErr)
		case <-deadline.C:
			return chat.Message{}, false
		}
	}
}

// eventually polls Seen(room) until check accepts it (returns nil). Seen has
// no channel to wait on, so this is the one place the suite polls.
func (s *session) eventually(t *testing.T, room, what string, check func(seen []string) error) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		seen := s.h.Seen(t, room)
		err := check(seen)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not seen in %s within %s: %v; seen: %s", s.adapter.Name(), what, room, Timeout, err, abbreviate(seen))
		}
		<-tick.C
	}
}

// seenContaining waits until a post in room contains all of parts.
func (s *session) seenContaining(t *testing.T, room string, parts ...string) {
	t.Helper()
	s.eventually(t, room, "a post with "+strings.Join(parts, " and "), func(seen []string) error {
		for _, post := range seen {
			if containsAll(post, parts...) {
				return nil
			}
		}
		return errNotYet
	})
}

var errNotYet = errors.New("no such post yet")

// abbreviate quotes what was seen for a failure message, cutting long posts.
func abbreviate(seen []string) string {
	const most = 200
	quoted := make([]string, len(seen))
	for i, post := range seen {
		if len(post) > most {
			cut := most
			for !utf8.RuneStart(post[cut]) {
				cut--
			}
			post = post[:cut] + fmt.Sprintf("…(%d bytes)", len(post))
		}
		quoted[i] = strconv.Quote(post)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// names reports whether an ID or display name is (or contains) the plain name the suite used.
func names(id, display, name string) bool {
	return strings.Contains(id, name) || strings.Contains(display, name)
}
