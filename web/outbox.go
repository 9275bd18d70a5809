package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/opsbot/opsbot/outbox"
)

// FailedPosts is what the console needs of the outbox: the posts it gave
// up on, and a way to try one again.
type FailedPosts interface {
	Failed(ctx context.Context, limit int) ([]outbox.Entry, error)
	Requeue(ctx context.Context, id int64) (bool, error)
}

// SetFailedPosts gives the console the outbox's failed posts.
func (m *Module) SetFailedPosts(f FailedPosts) { m.failed = f }

type outboxData struct {
	Entries []outbox.Entry
	None    bool
	Flash   string
}

// handleOutbox lists posts that finally failed: nothing is dropped silently.
func (m *Module) handleOutbox(w http.ResponseWriter, r *http.Request) {
	d := outboxData{None: m.failed == nil, Flash: r.URL.Query().Get("retried")}
	if m.failed != nil {
		entries, err := m.failed.Failed(r.Context(), 200)
		if err != nil {
			m.log.Error("list failed posts", "err", err)
			m.fail(w, r, http.StatusInternalServerError, "could not list failed posts")
			return
		}
		d.Entries = entries
	}
	m.pages.render(w, http.StatusOK, "outbox", view{Title: "Failed posts", Session: sessionFrom(r.Context()), Nav: "outbox", Data: d})
}

// handleOutboxRetry puts a failed post back in its room's queue.
func (m *Module) handleOutboxRetry(w http.ResponseWriter, r *http.Request) {
	if m.failed == nil {
		m.fail(w, r, http.StatusNotFound, "this opsbot has no outbox")
		return
	}
	id, err := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
	if err != nil || id < 1 {
		m.fail(w, r, http.StatusBadRequest, "id: a post number")
		return
	}
	ok, err := m.failed.Requeue(r.Context(), id)
	if err != nil {
		m.log.Error("requeue post", "id", id, "err", err)
		m.fail(w, r, http.StatusInternalServerError, "could not requeue the post")
		return
	}
	if !ok {
		m.fail(w, r, http.StatusNotFound, "id: no failed post "+strconv.FormatInt(id, 10))
		return
	}
	m.log.Info("failed post requeued", "id", id, "by", sessionFrom(r.Context()).User.Name)
	http.Redirect(w, r, "/outbox?retried="+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// The outbox the app wires in is what the console lists.
var _ FailedPosts = (*outbox.Outbox)(nil)
