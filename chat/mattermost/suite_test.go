package mattermost_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/chat/mattermost"
	"github.com/opsbot/opsbot/chat/mattermost/mattermosttest"
	"github.com/opsbot/opsbot/config"
)

// The shared adapter suite, against the fake Mattermost server; buttons
// are clickable (the harness serves the adapter's action route).
func TestSuite(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness { return newHarness(t, true) })
}

// Without action_url, buttons degrade to numbered choices.
func TestSuiteWithoutActionURL(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness { return newHarness(t, false) })
}

var _ chattest.Harness = (*harness)(nil)

// harness is one fake server with a team "eng", channels ops and dev, the
// people alice and bob in both, and a bot account that joins them itself.
type harness struct {
	srv      *mattermosttest.Server
	adapter  *mattermost.Adapter
	bot      *mattermosttest.User
	users    map[string]*mattermosttest.User
	channels map[string]*mattermosttest.Channel
	logs     *syncBuffer

	mu        sync.Mutex
	connected bool
}

func newHarness(t *testing.T, buttons bool) *harness {
	srv := mattermosttest.New(t)
	h := &harness{srv: srv, users: map[string]*mattermosttest.User{}, channels: map[string]*mattermosttest.Channel{}}
	team := srv.AddTeam("eng")
	h.bot = srv.AddUser("opsbot", true)
	alice, bob := srv.AddUser("alice", false), srv.AddUser("bob", false)
	h.users["alice"], h.users["bob"] = alice, bob
	h.channels["ops"] = srv.AddChannel(team, "ops", alice, bob)
	h.channels["dev"] = srv.AddChannel(team, "dev", alice, bob)
	cfg := fastConfig(srv.URL, h.bot.Token)
	cfg.Team = "eng"
	cfg.Channels = []string{"ops", "~dev"}
	var actions *httptest.Server
	if buttons {
		actions = httptest.NewServer(nil)
		t.Cleanup(actions.Close)
		cfg.ActionURL = actions.URL + mattermost.ActionPath
	}
	h.logs = &syncBuffer{}
	a, err := mattermost.New(cfg, slog.New(slog.NewTextHandler(h.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if actions != nil {
		actions.Config.Handler = a.ActionHandler()
	}
	h.adapter = a
	t.Cleanup(func() {
		if bytes.Contains(h.logs.Bytes(), []byte(h.bot.Token)) {
			t.Errorf("the token appears in the logs")
		}
	})
	return h
}

func fastConfig(url, token string) mattermost.Config {
	return mattermost.Config{
		URL:            url,
		Token:          config.Secret(token),
		ReconnectMin:   10 * time.Millisecond,
		ReconnectMax:   100 * time.Millisecond,
		PingInterval:   time.Second,
		RequestTimeout: 5 * time.Second,
	}
}

func (h *harness) Adapter() chat.Adapter { return h.adapter }

// Say posts as a person; the first time it waits for the bot to have
// joined the channel and connected (events are only sent to connections
// that exist: later breaks are covered by the server's resumption).
func (h *harness) Say(t *testing.T, user, room, text string) {
	t.Helper()
	c := h.channels[room]
	h.mu.Lock()
	connected := h.connected
	h.mu.Unlock()
	if !connected {
		waitFor(t, "the bot to join "+room+" and connect", func() bool {
			return h.srv.IsMember(h.channels["ops"], h.bot) && h.srv.IsMember(h.channels["dev"], h.bot) && h.srv.Connections() > 0
		})
		h.mu.Lock()
		h.connected = true
		h.mu.Unlock()
	}
	h.srv.Say(t, h.users[user], c, "", text)
}

func (h *harness) Seen(t *testing.T, room string) []string {
	return h.srv.Seen(h.channels[room], h.bot)
}

func (h *harness) Drop(t *testing.T) bool {
	h.srv.DropConnections()
	return true
}

// waitFor polls cond until it holds, failing the test after chattest.Timeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(chattest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
