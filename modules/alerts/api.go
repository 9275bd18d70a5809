package alerts

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/opsbot/opsbot/alert"
)

// api serves GET /api/v1/alerts: ?state=open|acknowledged|closed|live|all
// (default live: open and acknowledged), ?team=, ?limit=1–500 (default
// 100), ?before=ID (paging, newest first; next_before continues).
func (m *Module) api() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := alert.Filter{Limit: 100, Team: q.Get("team")}
		bad := func(field, msg string) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": field + ": " + msg})
		}
		switch s := q.Get("state"); s {
		case "", "live":
			f.States = live
		case "all":
		case string(alert.Open), string(alert.Acknowledged), string(alert.Closed):
			f.States = []alert.State{alert.State(s)}
		default:
			bad("state", "must be open, acknowledged, closed, live or all")
			return
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 500 {
				bad("limit", "must be a number from 1 to 500")
				return
			}
			f.Limit = n
		}
		if v := q.Get("before"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				bad("before", "must be a positive alert id")
				return
			}
			f.Before = n
		}
		as, err := m.st.List(r.Context(), f)
		if err != nil {
			m.log.Error("alerts API", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot read alerts"})
			return
		}
		out := struct {
			Alerts     []alert.Alert `json:"alerts"`
			NextBefore int64         `json:"next_before,omitempty"`
		}{Alerts: []alert.Alert{}}
		out.Alerts = append(out.Alerts, as...)
		if len(as) == f.Limit {
			out.NextBefore = as[len(as)-1].ID
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
