package statuspage_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/statuspage"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// BenchmarkStatusPage serves GET /status (built from the store on every
// request: 20 components, 60 incidents of 4 updates in the history window)
// on SQLite.
func BenchmarkStatusPage(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	var cfg statuspage.Config
	for i := range 20 {
		cfg.Components = append(cfg.Components, statuspage.ComponentConfig{Name: fmt.Sprintf("Component %d", i), Group: fmt.Sprintf("Group %d", i/5)})
	}
	svc := statuspage.NewService(cfg, statuspage.NewStore(st.DB()), clk, time.UTC, nil)
	for i := range 60 {
		clk.Advance(time.Hour)
		inc, err := svc.Open(ctx, statuspage.Investigating, fmt.Sprintf("Incident %d", i), "looking into it", "alice")
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range []statuspage.Status{statuspage.Identified, statuspage.Monitoring, statuspage.Resolved} {
			if _, err := svc.Update(ctx, inc.ID, s, "update "+string(s), "alice"); err != nil {
				b.Fatal(err)
			}
		}
	}
	h := statuspage.NewHandlers(svc, nil).Page()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
