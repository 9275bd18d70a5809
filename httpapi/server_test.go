package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/sqlstore"
)

func TestReadinessAndTokens(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "", filepath.Join(t.TempDir(), "data"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))

	srv := httpapi.New(nil, prometheus.NewRegistry())
	now := time.Now()
	srv.SetClock(func() time.Time { return now })
	srv.Handle("GET /module", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("module route")) }))
	srv.HandleAPI("GET /api/v1/audit", "audit:read", srv.AuditHandler())
	h := srv.Handler()
	do := func(path, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	require.Equal(t, http.StatusOK, do("/healthz", "").Code)
	require.Equal(t, http.StatusServiceUnavailable, do("/readyz", "").Code, "not ready before the store is migrated and modules provisioned")
	rec := do("/module", "")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"), "an early client is told to come back, nothing is half-handled")

	reader, hash, err := httpapi.NewToken()
	require.NoError(t, err)
	_, err = st.CreateToken(ctx, store.Token{Name: "reader", Hash: hash, Scopes: []string{"audit:read"}, Created: time.Now()})
	require.NoError(t, err)
	writer, hash2, err := httpapi.NewToken()
	require.NoError(t, err)
	_, err = st.CreateToken(ctx, store.Token{Name: "writer", Hash: hash2, Scopes: []string{"events:write"}, Created: time.Now()})
	require.NoError(t, err)

	srv.SetReady(st)
	require.Equal(t, http.StatusOK, do("/readyz", "").Code)
	require.Equal(t, "module route", do("/module", "").Body.String())
	for _, tc := range []struct {
		name, token string
		code        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", "opsbot_nope", http.StatusUnauthorized},
		{"wrong scope", writer, http.StatusForbidden},
		{"right scope", reader, http.StatusOK},
	} {
		require.Equal(t, tc.code, do("/api/v1/audit", tc.token).Code, tc.name)
	}
	require.Equal(t, http.StatusBadRequest, do("/api/v1/audit?since=soon", reader).Code)
	require.Equal(t, http.StatusBadRequest, do("/api/v1/audit?limit=0", reader).Code)

	require.NoError(t, st.RevokeToken(ctx, "reader"))
	require.Equal(t, http.StatusOK, do("/api/v1/audit", reader).Code, "verified tokens are cached for a few seconds")
	now = now.Add(httpapi.TokenCacheTTL)
	require.Equal(t, http.StatusUnauthorized, do("/api/v1/audit", reader).Code, "a revocation takes effect within TokenCacheTTL")
}

func TestScopes(t *testing.T) {
	require.True(t, httpapi.HasScope([]string{"admin"}, "audit:read"))
	require.True(t, httpapi.HasScope([]string{"audit:read"}, "audit:read"))
	require.False(t, httpapi.HasScope([]string{"events:write"}, "audit:read"))
	require.True(t, httpapi.ValidScope("deployments:write"))
	require.False(t, httpapi.ValidScope("root"))
}

// TestReadyzNeedsTheDatabase: a replica whose database stops answering is
// not ready (the load balancer takes it out), and is again when it answers.
func TestReadyzNeedsTheDatabase(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), "", filepath.Join(t.TempDir(), "data"))
	require.NoError(t, err)
	require.NoError(t, st.Migrate(t.Context()))
	srv := httpapi.New(nil, prometheus.NewRegistry())
	srv.SetReady(st)
	code := func() int {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	require.Equal(t, http.StatusOK, code())
	require.NoError(t, st.Close())
	require.Equal(t, http.StatusServiceUnavailable, code(), "database closed: not ready")
	require.Equal(t, http.StatusOK, func() int {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}(), "still alive: the process is not restarted for a database outage")
}
