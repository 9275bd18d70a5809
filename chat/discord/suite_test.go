package discord

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/discord/discordtest"
	"github.com/opsbot/opsbot/config"
)

// The shared adapter suite against the fake Discord (no Discord server can
// run here): one fake per subtest.
func TestSuite(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness { return newHarness(t, discordtest.Options{}) })
}

var _ chattest.Harness = (*harness)(nil)

type harness struct {
	srv     *discordtest.Server
	adapter *Adapter
	log     *syncBuffer
}

func newHarness(t *testing.T, opts discordtest.Options) *harness {
	srv := discordtest.Start(t, opts)
	a, logs := newAdapter(t, srv, Config{})
	return &harness{srv: srv, adapter: a, log: logs}
}

// newAdapter makes an adapter for srv with quick reconnects; its log goes to
// the returned buffer, which the test checks for the token at its end.
func newAdapter(t *testing.T, srv *discordtest.Server, cfg Config) (*Adapter, *syncBuffer) {
	t.Helper()
	cfg.Token = configSecret(srv.Token())
	cfg.APIURL = srv.URL()
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin, cfg.ReconnectMax = 10*time.Millisecond, 100*time.Millisecond
	}
	logs := &syncBuffer{}
	a, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("adapter log:\n%s", logs.Bytes())
		}
		if bytes.Contains(logs.Bytes(), []byte(srv.Token())) {
			t.Errorf("the token appears in the adapter's log")
		}
	})
	return a, logs
}

func (h *harness) Adapter() chat.Adapter { return h.adapter }

func (h *harness) Say(t *testing.T, user, room, text string) {
	t.Helper()
	h.srv.WaitConnected(t)
	h.srv.Say(t, user, room, text)
}

func (h *harness) Seen(t *testing.T, room string) []string { return h.srv.Seen(t, room) }

func (h *harness) Drop(t *testing.T) bool {
	h.srv.WaitConnected(t)
	h.srv.Drop()
	return true
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func configSecret(s string) config.Secret { return config.Secret(s) }
