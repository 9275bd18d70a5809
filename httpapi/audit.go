package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store"
)

// AuditHandler serves GET /api/v1/audit?user=&command=&q=&since=24h&before=ID&limit=N.
func (s *Server) AuditHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := store.AuditFilter{User: q.Get("user"), Command: q.Get("command"), Text: q.Get("q")}
		if v := q.Get("since"); v != "" {
			d, err := clock.ParseDuration(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "since: "+err.Error())
				return
			}
			f.Since = time.Now().Add(-d)
		}
		for name, dst := range map[string]*int64{"before": &f.Before} {
			if v := q.Get(name); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					writeError(w, http.StatusBadRequest, name+": not an integer")
					return
				}
				*dst = n
			}
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				writeError(w, http.StatusBadRequest, "limit: an integer from 1 to 1000")
				return
			}
			f.Limit = n
		}
		entries, err := (*s.st.Load()).QueryAudit(r.Context(), f)
		if err != nil {
			s.log.Error("audit query failed", "err", err)
			writeError(w, http.StatusInternalServerError, "audit query failed")
			return
		}
		out := make([]AuditJSON, 0, len(entries))
		for _, e := range entries {
			out = append(out, ToAuditJSON(e))
		}
		resp := map[string]any{"entries": out}
		if len(entries) > 0 {
			resp["next_before"] = entries[len(entries)-1].ID
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// AuditJSON is the API's and `opsbot audit --json`'s form of an entry.
type AuditJSON struct {
	ID         int64             `json:"id"`
	Time       time.Time         `json:"time"`
	Adapter    string            `json:"adapter"`
	Room       string            `json:"room"`
	User       string            `json:"user"`
	Identity   string            `json:"identity"`
	Text       string            `json:"text"`
	Command    string            `json:"command,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Decision   string            `json:"decision"`
	Reason     string            `json:"reason,omitempty"`
	Outcome    string            `json:"outcome,omitempty"`
	Error      string            `json:"error,omitempty"`
	DurationMS int64             `json:"duration_ms"`
}

// ToAuditJSON converts a stored entry.
func ToAuditJSON(e store.AuditEntry) AuditJSON {
	return AuditJSON{ID: e.ID, Time: e.Time.UTC(), Adapter: e.Adapter, Room: e.Room, User: e.UserName, Identity: e.Identity,
		Text: e.Text, Command: e.Command, Args: e.Args, Decision: e.Decision, Reason: e.Reason, Outcome: e.Outcome,
		Error: e.Error, DurationMS: e.Duration.Milliseconds()}
}
