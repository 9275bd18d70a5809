package slack_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/slack"
	"github.com/opsbot/opsbot/chat/slack/slacktest"
)

// The shared adapter suite, against the fake Slack over Socket Mode.
func TestSuite(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness { return newHarness(t) })
}

var _ chattest.Harness = (*harness)(nil)

type harness struct {
	fake    *slacktest.Server
	adapter *slack.Adapter
}

func newHarness(t *testing.T) *harness {
	fake := slacktest.Start(t)
	a, err := slack.New(fastConfig(fake), slack.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return &harness{fake: fake, adapter: a}
}

// fastConfig is a Socket Mode config for tests: quick reconnects.
func fastConfig(fake *slacktest.Server) slack.Config {
	return slack.Config{
		BotToken:     slacktest.BotToken,
		AppToken:     slacktest.AppToken,
		APIURL:       fake.APIURL(),
		ReconnectMin: 10 * time.Millisecond,
		ReconnectMax: 100 * time.Millisecond,
	}
}

func (h *harness) Adapter() chat.Adapter { return h.adapter }

// Say has user say text in room; Slack keeps what is said while the app is
// away and delivers it when it connects, so Say returns once the app
// acknowledged it.
func (h *harness) Say(t *testing.T, user, room, text string) {
	t.Helper()
	if _, err := h.fake.Say(user, room, text); err != nil {
		t.Fatalf("say: %v", err)
	}
}

func (h *harness) Seen(_ *testing.T, room string) []string { return h.fake.Seen(room) }

func (h *harness) Drop(*testing.T) bool {
	h.fake.Drop()
	return true
}

// testLogger logs to the test's output until the test ends.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(newTestWriter(t, nil), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// captureLogger also keeps what was logged in buf.
func captureLogger(t *testing.T, buf *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(newTestWriter(t, buf), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    *testing.T
	buf  *lockedBuffer
	mu   sync.Mutex
	done bool
}

func newTestWriter(t *testing.T, buf *lockedBuffer) *testWriter {
	w := &testWriter{t: t, buf: buf}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	if w.buf != nil {
		w.buf.write(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) write(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
