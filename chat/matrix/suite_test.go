package matrix

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/matrix/matrixtest"
	"github.com/opsbot/opsbot/config"
)

// The shared adapter suite against the fake homeserver (no Matrix
// homeserver is packaged here): one fake per subtest.
func TestSuite(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness {
		srv := matrixtest.Start(t, matrixtest.Options{})
		a, _ := newAdapter(t, srv, Config{Rooms: []string{srv.Alias("ops"), srv.Alias("dev")}})
		return &harness{srv: srv, adapter: a}
	})
}

var _ chattest.Harness = (*harness)(nil)

type harness struct {
	srv     *matrixtest.Server
	adapter *Adapter
}

// newAdapter makes an adapter for srv logging in with the password, with
// quick retries; the test fails if its log shows the password or a token.
func newAdapter(t *testing.T, srv *matrixtest.Server, cfg Config) (*Adapter, *syncBuffer) {
	t.Helper()
	cfg.Homeserver = srv.URL()
	cfg.UserID = srv.BotID()
	if cfg.AccessToken == "" && cfg.Password == "" {
		cfg.Password = config.Secret(srv.BotPassword())
	}
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
		for _, secret := range []string{srv.BotPassword(), "syt_"} {
			if bytes.Contains(logs.Bytes(), []byte(secret)) {
				t.Errorf("the adapter's log shows a secret (%q)", secret)
			}
		}
	})
	return a, logs
}

func (h *harness) Adapter() chat.Adapter { return h.adapter }

func (h *harness) Say(t *testing.T, user, room, text string) {
	t.Helper()
	h.srv.WaitJoined(t, room)
	h.srv.Say(t, user, room, text)
}

func (h *harness) Seen(t *testing.T, room string) []string { return h.srv.Seen(t, room) }

// Drop breaks the connections, and the sync under way or next fails as
// when the homeserver is down behind its proxy (Go's HTTP client silently
// retries a GET whose connection broke, so a drop alone may go unseen).
func (h *harness) Drop(t *testing.T) bool {
	h.srv.Fail("sync", 1)
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
