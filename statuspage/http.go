package statuspage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handlers serves the public documents and the incidents API.
type Handlers struct {
	svc *Service
	log *slog.Logger
}

// NewHandlers returns the HTTP handlers of a status page.
func NewHandlers(svc *Service, log *slog.Logger) *Handlers {
	if log == nil {
		log = slog.Default()
	}
	return &Handlers{svc: svc, log: log}
}

// base is the public root: the configured URL, else the request's host.
func (h *Handlers) base(r *http.Request) string {
	if u := strings.TrimRight(h.svc.cfg.URL, "/"); u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *Handlers) maxAge() int {
	if d := h.svc.cfg.MaxAge.D(); d > 0 {
		return int(d / time.Second)
	}
	return 30
}

// serve writes a cacheable public document: Cache-Control, an ETag over the
// body and Last-Modified, answering 304 to a matching conditional request.
func (h *Handlers) serve(w http.ResponseWriter, r *http.Request, ctype string, render func(Summary, string) ([]byte, error)) {
	sum, err := h.svc.Summary(r.Context())
	if err != nil {
		h.log.Error("status page", "err", err)
		http.Error(w, "the status page is unavailable", http.StatusServiceUnavailable)
		return
	}
	body, err := render(sum, h.base(r))
	if err != nil {
		h.log.Error("status page", "err", err)
		http.Error(w, "the status page is unavailable", http.StatusInternalServerError)
		return
	}
	sha := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sha[:12]) + `"`
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(h.maxAge()))
	hd.Set("ETag", etag)
	if !sum.Updated.IsZero() {
		hd.Set("Last-Modified", sum.Updated.UTC().Format(http.TimeFormat))
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	if match := r.Header.Get("If-None-Match"); match != "" {
		for _, m := range strings.Split(match, ",") {
			if m = strings.TrimSpace(m); m == etag || m == "*" || strings.TrimPrefix(m, "W/") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	hd.Set("Content-Type", ctype)
	if r.Method == http.MethodHead {
		hd.Set("Content-Length", strconv.Itoa(len(body)))
		return
	}
	_, _ = w.Write(body)
}

// Page serves GET /status: HTML without script.
func (h *Handlers) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")
		h.serve(w, r, "text/html; charset=utf-8", func(s Summary, base string) ([]byte, error) {
			return HTML(s, base, h.svc.cfg.HistoryDays)
		})
	})
}

// JSON serves GET /status.json.
func (h *Handlers) JSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h.serve(w, r, "application/json", JSON)
	})
}

// Feed serves GET /status/feed.atom.
func (h *Handlers) Feed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, "application/atom+xml; charset=utf-8", Atom)
	})
}

// Incidents serves GET /api/v1/incidents: ?status=open|resolved|all
// (default all), ?limit=N (1–200, default 50), ?before=ID (paging; the
// answer's next_before continues).
func (h *Handlers) Incidents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := Filter{Limit: 50}
		bad := func(field, msg string) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": field + ": " + msg})
		}
		switch q.Get("status") {
		case "", "all":
		case "open":
			f.OpenOnly = true
		case "resolved":
		default:
			bad("status", "must be open, resolved or all")
			return
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 200 {
				bad("limit", "must be a number from 1 to 200")
				return
			}
			f.Limit = n
		}
		if v := q.Get("before"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				bad("before", "must be a positive incident id")
				return
			}
			f.Before = n
		}
		incs, err := h.svc.st.Incidents(r.Context(), f)
		if err != nil {
			h.log.Error("incidents API", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot read incidents"})
			return
		}
		out := struct {
			Incidents  []IncidentJSON `json:"incidents"`
			NextBefore int64          `json:"next_before,omitempty"`
		}{Incidents: []IncidentJSON{}}
		base := h.base(r)
		for _, inc := range incs {
			if q.Get("status") == "resolved" && inc.Open() {
				continue
			}
			out.Incidents = append(out.Incidents, ToJSON(inc, base))
		}
		if len(incs) == f.Limit {
			out.NextBefore = incs[len(incs)-1].ID
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
