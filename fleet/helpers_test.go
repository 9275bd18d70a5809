package fleet_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// onEachDatabase runs fn on a migrated SQLite database and on a real PostgreSQL.
func onEachDatabase(t *testing.T, fn func(t *testing.T, db *sql.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openDB(t, "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, openDB(t, pgtest.Start(t))) })
}

func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	dir := t.TempDir()
	if url == "" {
		url = "sqlite:" + filepath.Join(dir, "opsbot.db")
	}
	st, err := sqlstore.Open(context.Background(), url, dir)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(context.Background()))
	return st.DB()
}

// loadBalancer is a real HTTP server playing a load balancer with a
// blue-green pool: GET /active answers {"backend": {"colour": …}}, POST
// /switch/COLOUR moves the traffic (unless it is stuck).
type loadBalancer struct {
	*httptest.Server
	mu       sync.Mutex
	colour   string
	stuck    bool
	switches []string
	hang     chan struct{}
}

func startLB(t *testing.T, colour string) *loadBalancer {
	lb := &loadBalancer{colour: colour}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /active", func(w http.ResponseWriter, r *http.Request) {
		lb.mu.Lock()
		c, hang := lb.colour, lb.hang
		lb.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"backend": map[string]string{"colour": c}, "pool": "api"})
	})
	mux.HandleFunc("POST /switch/{colour}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer lb-token" {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		lb.mu.Lock()
		defer lb.mu.Unlock()
		lb.switches = append(lb.switches, r.PathValue("colour"))
		if !lb.stuck {
			lb.colour = r.PathValue("colour")
		}
		fmt.Fprintf(w, "pool api now on %s\n", lb.colour)
	})
	lb.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		lb.mu.Lock()
		if lb.hang != nil {
			close(lb.hang)
			lb.hang = nil
		}
		lb.mu.Unlock()
		lb.Close()
	})
	return lb
}

func (lb *loadBalancer) active() string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.colour
}

func (lb *loadBalancer) switched() string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return strings.Join(lb.switches, ",")
}

func (lb *loadBalancer) set(f func(lb *loadBalancer)) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	f(lb)
}
