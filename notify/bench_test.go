package notify

import (
	"fmt"
	"testing"

	"github.com/opsbot/opsbot/event"
)

// BenchmarkMatch: matching one event against the example-sized tree.
func BenchmarkMatch(b *testing.B) {
	tree, err := Compile(load(b, treeYAML))
	if err != nil {
		b.Fatal(err)
	}
	e := event.Event{Tag: "alert.disk", Severity: event.Critical, Labels: map[string]string{"team": "db", "service": "api"}}
	b.ReportAllocs()
	for b.Loop() {
		if len(tree.Match(e)) != 2 {
			b.Fatal("wrong match")
		}
	}
}

// BenchmarkPipeline: events routed to one room without grouping, posted to
// a fake poster, with the cursor committed per batch of 200 on SQLite.
func BenchmarkPipeline(b *testing.B) {
	benchPipeline(b, `rooms: ["#ops"]`)
}

// BenchmarkPipelineGrouped: the same events into one aggregation group.
func BenchmarkPipelineGrouped(b *testing.B) {
	benchPipeline(b, "rooms: [\"#ops\"]\ngroup_by: [service]")
}

func benchPipeline(b *testing.B, yaml string) {
	h := newHarness(b, yaml)
	events := make([]event.Stored, DefaultBatch)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range events {
			h.seq++
			events[i] = event.Stored{Seq: h.seq, Event: event.Event{Tag: "load.tick", Title: fmt.Sprint("tick ", h.seq),
				Status: event.Firing, Severity: event.Info, Labels: map[string]string{"service": "api", "pod": fmt.Sprint(h.seq % 500)}}}
		}
		if err := h.d.Process(h.ctx, events); err != nil {
			b.Fatal(err)
		}
		n += len(events)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
