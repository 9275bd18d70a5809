package alert_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opsbot/opsbot/alert"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// BenchmarkApply tracks alert events on SQLite: one in four opens an alert,
// the others refresh one that is firing.
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	s := alert.NewStore(st.DB())
	now := time.Now()
	i := 0
	for b.Loop() {
		e := event.Event{ID: fmt.Sprint(i), Tag: "alert.alertmanager", Severity: event.Critical, Status: event.Firing,
			Title: "DiskFull", Fingerprint: fmt.Sprintf("alertmanager:%d", i/4), Labels: map[string]string{"instance": "web1"}}
		if _, err := s.Apply(ctx, e, "ops", now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
