package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/chattest"
	"github.com/opsbot/opsbot/store/pgtest"
)

// harness drives the web adapter as browsers do: users log in and post over
// HTTP; what they see is the room's history as the console serves it (the
// rendered HTML's visible text).
type harness struct {
	c       *console
	mu      sync.Mutex
	clients map[string]*client
}

func newHarness(t *testing.T) chattest.Harness { return newHarnessDB(t, "") }

func newHarnessDB(t *testing.T, url string) chattest.Harness {
	c := newConsoleDB(t, url, nil)
	for _, u := range []string{"alice", "bob"} {
		c.addUser(t, u, "password of "+u)
	}
	return &harness{c: c, clients: map[string]*client{}}
}

func (h *harness) Adapter() chat.Adapter { return h.c.m.Adapter() }

func (h *harness) user(t *testing.T, name string) *client {
	h.mu.Lock()
	defer h.mu.Unlock()
	cl, ok := h.clients[name]
	if !ok {
		cl = h.c.client(t)
		require.Equal(t, http.StatusSeeOther, cl.login(name, "password of "+name).StatusCode)
		h.clients[name] = cl
	}
	return cl
}

func (h *harness) Say(t *testing.T, user, room, text string) {
	cl := h.user(t, user)
	resp, body := cl.post("/rooms", url.Values{"name": {room}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = cl.post("/rooms/"+room+"/messages", url.Values{"text": {text}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
}

func (h *harness) Seen(t *testing.T, room string) []string {
	cl := h.user(t, "alice")
	resp, body := cl.do("GET", "/rooms/"+room+"/messages?limit=500", nil, nil)
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var page struct {
		Messages []struct {
			Bot  bool
			Text string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &page))
	var seen []string
	for _, m := range page.Messages {
		if m.Bot {
			seen = append(seen, m.Text)
		}
	}
	return seen
}

func (h *harness) Drop(*testing.T) bool { return false }

func TestSuite(t *testing.T) {
	chattest.Run(t, newHarness)
}

// TestSuitePostgres runs the suite with the console's tables on a real PostgreSQL.
func TestSuitePostgres(t *testing.T) {
	chattest.Run(t, func(t *testing.T) chattest.Harness { return newHarnessDB(t, pgtest.Start(t)) })
}
