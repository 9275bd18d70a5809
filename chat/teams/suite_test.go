package teams_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/teams"
	"github.com/opsbot/opsbot/chat/teams/teamstest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// The shared adapter suite against the fake Bot Framework. Teams keeps no
// connection open, so the harness's Drop is the nearest thing a Teams bot
// recovers from by itself: Microsoft rotates the signing keys, and the
// next request names a key the adapter has not seen.
func TestSuite(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness { return newHarness(t) })
}

var _ chattest.Harness = (*harness)(nil)

type harness struct {
	srv      *teamstest.Server
	adapter  *teams.Adapter
	clock    *clock.Fake
	users    map[string]*teamstest.User
	channels map[string]*teamstest.Conversation
	logs     *syncBuffer
}

func newHarness(t *testing.T) *harness {
	srv := teamstest.New(t)
	clk := clock.NewFake(time.Now())
	srv.Now = clk.Now
	h := &harness{srv: srv, clock: clk, logs: &syncBuffer{},
		users:    map[string]*teamstest.User{"alice": teamstest.NewUser("alice"), "bob": teamstest.NewUser("bob")},
		channels: map[string]*teamstest.Conversation{"ops": srv.AddChannel("ops"), "dev": srv.AddChannel("dev")},
	}
	a, err := teams.New(testConfig(srv), slog.New(slog.NewTextHandler(h.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.SetClock(clk)
	h.adapter = a
	endpoint := httptest.NewServer(a.Routes()["POST "+teams.MessagesPath])
	t.Cleanup(endpoint.Close)
	srv.BotEndpoint = endpoint.URL + teams.MessagesPath
	t.Cleanup(func() {
		if bytes.Contains(h.logs.Bytes(), []byte(srv.Password)) {
			t.Errorf("the app password appears in the logs")
		}
	})
	return h
}

func testConfig(srv *teamstest.Server) teams.Config {
	return teams.Config{
		AppID:             srv.AppID,
		AppPassword:       config.Secret(srv.Password),
		ServiceURL:        srv.ServiceURL,
		TokenURL:          srv.URL + "/botframework.com/oauth2/v2.0/token",
		OpenIDMetadataURL: srv.URL + "/v1/.well-known/openidconfiguration",
		RequestTimeout:    5 * time.Second,
	}
}

func (h *harness) Adapter() chat.Adapter { return h.adapter }

func (h *harness) Say(t *testing.T, user, room, text string) {
	t.Helper()
	h.srv.Say(t, h.users[user], h.channels[room], "", text)
}

func (h *harness) Seen(t *testing.T, room string) []string {
	return h.srv.Seen(h.channels[room])
}

func (h *harness) Drop(t *testing.T) bool {
	h.srv.RotateKeys()
	h.clock.Advance(teams.DefaultKeyRefresh + time.Second)
	return true
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
