package web_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/outbox"
)

// failedPosts is an outbox's failed list in memory.
type failedPosts struct {
	mu       sync.Mutex
	entries  []outbox.Entry
	requeued []int64
}

func (f *failedPosts) Failed(context.Context, int) ([]outbox.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]outbox.Entry(nil), f.entries...), nil
}

func (f *failedPosts) Requeue(_ context.Context, id int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, e := range f.entries {
		if e.ID == id {
			f.entries = append(f.entries[:i], f.entries[i+1:]...)
			f.requeued = append(f.requeued, id)
			return true, nil
		}
	}
	return false, nil
}

func TestFailedPostsPage(t *testing.T) {
	c := newConsole(t, nil)
	f := &failedPosts{entries: []outbox.Entry{{ID: 7, Room: chat.Room{Adapter: "slack", ID: "C1"}, Post: chat.Post{Text: "<b>deploy finished</b>"},
		State: "failed", Attempts: 8, Enqueued: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), Error: "channel_not_found"}}}
	c.m.SetFailedPosts(f)
	c.addUser(t, "root", "correct horse", "admins")
	root := c.client(t)
	root.login("root", "correct horse")

	_, body := root.do("GET", "/outbox", nil, nil)
	require.Contains(t, body, "slack:C1")
	require.Contains(t, body, "&lt;b&gt;deploy finished&lt;/b&gt;")
	require.Contains(t, body, "channel_not_found")

	resp, _ := root.do("POST", "/outbox/retry", url.Values{"id": {"7"}}, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a POST without the CSRF token is refused")
	resp, body = root.post("/outbox/retry", url.Values{"id": {"7"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	require.Equal(t, "/outbox?retried=7", resp.Header.Get("Location"))
	_, body = root.do("GET", "/outbox?retried=7", nil, nil)
	require.Contains(t, body, "Post 7 is queued again")
	require.Contains(t, body, "No failed posts.")
	require.Equal(t, []int64{7}, f.requeued)
	resp, _ = root.post("/outbox/retry", url.Values{"id": {"7"}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = root.post("/outbox/retry", url.Values{"id": {"x"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
