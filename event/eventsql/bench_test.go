package eventsql_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/event/eventsql"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// BenchmarkAppend: one group commit of N events on SQLite (the ingest
// benchmark's shape: a single-event POST each, batched by the ingester).
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			st, err := sqlstore.Open(b.Context(), filepath.Join(b.TempDir(), "events.db"), "")
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			l := eventsql.New(st.DB(), st.Dialect(), nil)
			batch := make([]event.Event, n)
			for i := range batch {
				batch[i] = event.Event{Tag: "bench.ingest", Severity: event.Warning, Status: event.Firing,
					Title: "disk 91% full on web1", Text: "/var is 91% full (threshold 90%)",
					Labels: map[string]string{"host": "web1", "service": "api"}, Source: "bench"}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := l.Append(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}
