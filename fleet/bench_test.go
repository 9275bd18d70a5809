package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opsbot/opsbot/fleet"
	"github.com/opsbot/opsbot/fleet/fleettest"
)

// BenchmarkResolve: finding an instance among 50 from three words.
func BenchmarkResolve(b *testing.B) {
	var ins []fleet.Instance
	for i := range 25 {
		for _, c := range []string{"blue", "green"} {
			ins = append(ins, fleet.Instance{Name: fmt.Sprintf("app%02d-%s", i, c), App: fmt.Sprintf("app%02d", i), Role: c,
				Env: "production", Aliases: []string{fmt.Sprintf("service %d", i)}})
		}
	}
	aliases := func(string) []string { return []string{"master", "roi hunter"} }
	active := func(context.Context, fleet.Instance) (bool, error) { return false, nil }
	r := fleet.NewResolver(ins, aliases)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(ctx, "service 17 green", active); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckAll50: one platform round over 50 real instance servers on
// loopback (all healthy).
func BenchmarkCheckAll50(b *testing.B) {
	var ins []fleet.Instance
	for i := range 50 {
		s := fleettest.Start(b)
		ins = append(ins, fleet.Instance{Name: fmt.Sprintf("web%02d", i), Health: s.Health(), Version: s.Version()})
	}
	c := &fleet.Checker{Timeout: 5 * time.Second}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, st := range c.CheckAll(ctx, ins) {
			if st.State != fleet.Up {
				b.Fatalf("%s: %s %s", st.Instance, st.State, st.Detail)
			}
		}
	}
}
