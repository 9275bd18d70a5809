package command

import (
	"context"
	"fmt"
	"testing"
)

// benchGrammars are hand-written commands registered beside the generated
// ones; several share a first word.
var benchGrammars = []string{
	"deploy[:{task}][!] {app}[/{ref}] [to|in|on {env}[/{hosts}]]",
	"deploy:lock {app} in {env} [{reason...}]",
	"deploys {app}[/{branch}] [in {env}]",
	"status {component} {state:enum(operational|degraded|partial|major|maintenance)}",
	"status open (investigating|identified|monitoring) {message...}",
	"remind {target} {when...}",
	"ping",
	"auth add {permission} to {subject} [in {room:room}]",
}

// benchMatcher registers n commands: the hand-written ones and generated ones
// such as "svc12 restart {instance} [in {env}]". Every size has the commands
// the benchmark's messages match.
func benchMatcher(b *testing.B, n int) *Matcher {
	m := NewMatcher(nil)
	for i, g := range benchGrammars {
		if err := m.Add(&Spec{Name: fmt.Sprintf("cmd%d", i), Grammar: g}); err != nil {
			b.Fatal(err)
		}
	}
	for i := len(benchGrammars); i < n; i++ {
		var g string
		switch i % 4 {
		case 0:
			g = "svc%d restart {instance} [in {env}]"
		case 1:
			g = "svc%d scale {instance} to {count:int}"
		case 2:
			g = "svc%d logs {instance} [for {since:duration=1h}]"
		case 3:
			g = "svc%d:deploy[!] {app}[/{ref}] [to|in|on {env}]"
		}
		if err := m.Add(&Spec{Name: fmt.Sprintf("svc%d", i), Grammar: fmt.Sprintf(g, i)}); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func BenchmarkDispatch(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("commands=%d", n), func(b *testing.B) {
			m := benchMatcher(b, n)
			msgs := []string{
				"deploy:migrate! api/feature-x to staging/web1",
				"status api degraded",
				"auth add deploy:production to alice in #ops",
				"svc8 restart web-3 in production",
			}
			for _, msg := range msgs {
				if r := m.Match(ctx, msg); !r.Matched() {
					b.Fatalf("%q did not match: %+v", msg, r)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				m.Match(ctx, msgs[i%len(msgs)])
			}
		})
	}
}
