package irc_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lrstanley/girc"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/irc"
	"github.com/opsbot/opsbot/chat/irc/ngircdtest"
)

// The shared adapter suite, against a real ngircd. Every harness gets its
// own channels and nicks (a number suffix), so that what one subtest leaves
// behind (a bot quitting, a user's connection) cannot disturb the next.
func TestSuite(t *testing.T) {
	srv := ngircdtest.Start(t, ngircdtest.Options{})
	var n atomic.Int32
	chattest.Run(t, func(t *testing.T) chattest.Harness {
		return newHarness(t, srv, int(n.Add(1)))
	})
}

var _ chattest.Harness = (*harness)(nil)

// harness puts an IRC adapter on ngircd; the people in the chat are raw
// IRC clients, and a watcher (an IRC operator) sees the rooms and can KILL
// the bot.
type harness struct {
	srv     *ngircdtest.Server
	n       int
	adapter *irc.Adapter
	ident   string // the bot's username, as the server shows it: how the watcher tells its lines

	mu      sync.Mutex
	watcher *ngircdtest.Client
	users   map[string]*ngircdtest.Client
	joined  map[string]bool // "user room" pairs
	oper    bool
}

func newHarness(t *testing.T, srv *ngircdtest.Server, n int) *harness {
	h := &harness{srv: srv, n: n, users: map[string]*ngircdtest.Client{}, joined: map[string]bool{}}
	cfg := fastConfig(srv.Addr(), fmt.Sprintf("opsbot%d", n))
	cfg.User = fmt.Sprintf("bot%d", n)
	cfg.Channels = []irc.ChannelConfig{{Name: h.channel("ops")}, {Name: h.channel("dev")}}
	h.ident = "~" + cfg.User
	a, err := irc.New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	h.adapter = a
	h.watcher = ngircdtest.Dial(t, srv.Addr(), fmt.Sprintf("w%d", n))
	h.watcher.Join(t, h.channel("ops"), "")
	h.watcher.Join(t, h.channel("dev"), "")
	return h
}

// fastConfig is a config for tests: quick reconnects and rejoins, a flood
// limit high enough for the suite's hundreds of lines.
func fastConfig(addr, nick string) irc.Config {
	return irc.Config{
		Server:         addr,
		Nick:           nick,
		Flood:          irc.FloodConfig{Rate: 1000, Burst: 100},
		ReconnectMin:   20 * time.Millisecond,
		ReconnectMax:   200 * time.Millisecond,
		RejoinInterval: 100 * time.Millisecond,
		PostTimeout:    5 * time.Second,
	}
}

func (h *harness) channel(room string) string { return fmt.Sprintf("#%s-%d", room, h.n) }

func (h *harness) Adapter() chat.Adapter { return h.adapter }

// Say has user say text in room, once the bot is in it (ngircd keeps nothing
// for a client that has not joined).
func (h *harness) Say(t *testing.T, user, room, text string) {
	t.Helper()
	ch := h.channel(room)
	h.waitBotIn(t, ch)
	c := h.user(t, user, ch)
	c.Say(t, ch, text)
}

func (h *harness) user(t *testing.T, user, ch string) *ngircdtest.Client {
	h.mu.Lock()
	c, ok := h.users[user]
	h.mu.Unlock()
	if !ok {
		c = ngircdtest.Dial(t, h.srv.Addr(), fmt.Sprintf("%s%d", user, h.n))
		h.mu.Lock()
		h.users[user] = c
		h.mu.Unlock()
	}
	h.mu.Lock()
	joined := h.joined[user+" "+ch]
	h.joined[user+" "+ch] = true
	h.mu.Unlock()
	if !joined {
		c.Join(t, ch, "")
	}
	return c
}

// waitBotIn waits until the watcher's view of ch has the bot in it.
func (h *harness) waitBotIn(t *testing.T, ch string) {
	t.Helper()
	h.watcher.Until(t, "the bot in "+ch, func(lines []ngircdtest.Line) bool {
		nick := h.adapter.Nick()
		return nick != "" && members(lines, ch)[girc.ToRFC1459(nick)]
	})
}

// members replays JOIN, PART, KICK, QUIT, NICK and NAMES lines into the
// folded nicks in channel ch.
func members(lines []ngircdtest.Line, ch string) map[string]bool {
	in := map[string]bool{}
	for _, l := range lines {
		switch l.Command {
		case "JOIN":
			if len(l.Params) > 0 && strings.EqualFold(l.Params[0], ch) {
				in[girc.ToRFC1459(l.Nick())] = true
			}
		case "PART":
			if len(l.Params) > 0 && strings.EqualFold(l.Params[0], ch) {
				delete(in, girc.ToRFC1459(l.Nick()))
			}
		case "KICK":
			if len(l.Params) > 1 && strings.EqualFold(l.Params[0], ch) {
				delete(in, girc.ToRFC1459(l.Params[1]))
			}
		case "QUIT":
			delete(in, girc.ToRFC1459(l.Nick()))
		case "NICK":
			if in[girc.ToRFC1459(l.Nick())] {
				delete(in, girc.ToRFC1459(l.Nick()))
				in[girc.ToRFC1459(l.Last())] = true
			}
		case "353":
			if len(l.Params) > 2 && strings.EqualFold(l.Params[2], ch) {
				for _, n := range strings.Fields(l.Last()) {
					in[girc.ToRFC1459(strings.TrimLeft(n, "@+"))] = true
				}
			}
		}
	}
	return in
}

// Seen is what the watcher saw of the bot in room: a post is a run of the
// bot's lines that nobody else interrupted (IRC has no multi-line messages,
// so that is how a person sees one), formatting codes removed.
func (h *harness) Seen(t *testing.T, room string) []string {
	ch := h.channel(room)
	var posts []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			posts = append(posts, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, l := range h.watcher.Lines() {
		if l.Command != "PRIVMSG" || len(l.Params) < 2 || !strings.EqualFold(l.Params[0], ch) {
			continue
		}
		if h.isBot(l) {
			cur = append(cur, girc.StripRaw(l.Last()))
		} else {
			flush()
		}
	}
	flush()
	return posts
}

func (h *harness) isBot(l ngircdtest.Line) bool {
	_, userHost, _ := strings.Cut(l.Source, "!")
	user, _, _ := strings.Cut(userHost, "@")
	return user == h.ident
}

// Drop has the watcher, as an IRC operator, KILL the bot.
func (h *harness) Drop(t *testing.T) bool {
	h.mu.Lock()
	oper := h.oper
	h.oper = true
	h.mu.Unlock()
	if !oper {
		h.watcher.Oper(t)
	}
	nick := h.adapter.Nick()
	if nick == "" {
		t.Fatalf("the bot is not connected")
	}
	h.watcher.Kill(t, nick)
	h.watcher.Until(t, "the bot killed", func(lines []ngircdtest.Line) bool {
		for _, l := range lines {
			if l.Command == "QUIT" && girc.ToRFC1459(l.Nick()) == girc.ToRFC1459(nick) {
				return true
			}
		}
		return false
	})
	return true
}

// testLogger logs to the test's output and keeps what was logged, so a test
// can check that no secret reached the log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testWriter writes to the test's log until the test ends (goroutines may
// log a little longer).
type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func newTestWriter(t *testing.T) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// captureLogger logs into buf (and the test output).
func captureLogger(t *testing.T, buf *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(multiWriter{buf, newTestWriter(t)}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type multiWriter []interface{ Write([]byte) (int, error) }

func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		_, _ = w.Write(p)
	}
	return len(p), nil
}
