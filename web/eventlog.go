package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/event"
)

const eventPage = 50

type eventsData struct {
	Tag, Source, Label, Q, Since string
	Events                       []event.Stored
	Next                         string
	NoLog                        bool
}

// handleEventLog shows recent ops messages, newest first, filtered by tag
// pattern, source, one label (k=v), text and age, and paged.
func (m *Module) handleEventLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := eventsData{Tag: q.Get("tag"), Source: q.Get("source"), Label: q.Get("label"), Q: q.Get("q"), Since: q.Get("since")}
	view := view{Title: "Events", Session: sessionFrom(r.Context()), Nav: "events", Data: &d}
	if m.events == nil {
		d.NoLog = true
		m.pages.render(w, http.StatusOK, "events", view)
		return
	}
	f := event.Filter{TagPattern: d.Tag, Source: d.Source, Text: d.Q, Limit: eventPage}
	if d.Label != "" {
		k, v, ok := strings.Cut(d.Label, "=")
		if !ok || k == "" {
			m.fail(w, r, http.StatusBadRequest, "label: key=value")
			return
		}
		f.Label = map[string]string{k: v}
	}
	if d.Since != "" {
		age, err := clock.ParseDuration(d.Since)
		if err != nil {
			m.fail(w, r, http.StatusBadRequest, "since: a duration like 2h or 7d")
			return
		}
		f.Since = m.clk.Now().Add(-age)
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			m.fail(w, r, http.StatusBadRequest, "before: an event sequence number")
			return
		}
		f.Before = n
	}
	evs, err := m.events.Query(r.Context(), f)
	if err != nil {
		m.log.Error("event query", "err", err)
		m.fail(w, r, http.StatusInternalServerError, "event query failed")
		return
	}
	d.Events = evs
	if len(evs) == eventPage {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(evs[len(evs)-1].Seq, 10))
		d.Next = "/events?" + next.Encode()
	}
	m.pages.render(w, http.StatusOK, "events", view)
}
