// Package httpapi is opsbot's one HTTP listener: health, readiness, metrics,
// the token-protected API and the routes modules declare.
package httpapi

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opsbot/opsbot/store"
)

// Server is the HTTP listener.
type Server struct {
	mux    *http.ServeMux
	ready  atomic.Bool
	st     atomic.Pointer[store.Store]
	log    *slog.Logger
	srv    *http.Server
	tokens tokenCache
}

// New returns a server with /healthz, /readyz and /metrics (from gatherer).
// Everything else answers 503 until SetReady.
func New(log *slog.Logger, gatherer prometheus.Gatherer) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{mux: http.NewServeMux(), log: log}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
			return
		}
		if err := s.pingStore(r.Context()); err != nil {
			s.log.Warn("not ready: the database does not answer", "err", err)
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return s
}

// pingStore checks that the store's database answers (within 2 s): a
// replica that lost its database is taken out of the load balancer.
func (s *Server) pingStore(ctx context.Context) error {
	p := s.st.Load()
	if p == nil {
		return nil
	}
	db, ok := (*p).(interface{ DB() *sql.DB })
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return db.DB().PingContext(ctx)
}

// SetReady opens the API once the store is migrated and modules are provisioned.
func (s *Server) SetReady(st store.Store) {
	s.st.Store(&st)
	s.ready.Store(true)
}

// Handle adds a route that answers 503 until the server is ready.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.whenReady(h))
}

// HandleAPI adds a route that needs a token with scope.
func (s *Server) HandleAPI(pattern, scope string, h http.Handler) {
	s.mux.Handle(pattern, s.whenReady(s.requireScope(scope, h)))
}

func (s *Server) whenReady(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "opsbot is starting; retry shortly")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) requireScope(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="opsbot"`)
			writeError(w, http.StatusUnauthorized, "missing API token (Authorization: Bearer TOKEN)")
			return
		}
		st := *s.st.Load()
		hash := HashToken(raw)
		tok, err := s.tokens.lookup(r.Context(), st, hash)
		if err != nil || tok.Revoked || subtle.ConstantTimeCompare([]byte(tok.Hash), []byte(hash)) != 1 {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				s.log.Error("token lookup failed", "err", err)
				writeError(w, http.StatusInternalServerError, "token check failed")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="opsbot", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid or revoked API token")
			return
		}
		if !HasScope(tok.Scopes, scope) {
			writeError(w, http.StatusForbidden, "this token lacks the scope "+scope)
			return
		}
		if s.tokens.shouldTouch(tok.ID) {
			if err := st.TouchToken(r.Context(), tok.ID, time.Now()); err != nil {
				s.log.Warn("token touch failed", "token", tok.Name, "err", err)
			}
		}
		tok.Hash = ""
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
	})
}

type tokenKey struct{}

// TokenFrom returns the API token a request was authorised with (its hash
// cleared), for handlers behind HandleAPI: its name for the audit log, the
// user it acts as.
func TokenFrom(ctx context.Context) (store.Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(store.Token)
	return t, ok
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// Handler is the server's handler, for tests.
func (s *Server) Handler() http.Handler { return s.mux }

// Listen binds addr; Serve then serves on it. Splitting them lets the caller
// print the address (and health answer) before the store is ready.
func (s *Server) Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// Serve serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
