package command

import (
	"context"
	"strings"
	"testing"
)

// FuzzCompileAndMatch compiles arbitrary grammars and matches arbitrary text
// against them, directly and through a Matcher. Nothing may panic, a match
// must have every required argument, and a grammar that matches must be
// found through the index.
func FuzzCompileAndMatch(f *testing.F) {
	seeds := [][2]string{
		{deployGrammar, "deploy:migrate! api/feature-x to staging/web1"},
		{deployGrammar, `deploy "my app"/x in prod`},
		{"remind {target} {when...}", "remind me in 2h"},
		{"help [{command...}]", "help"},
		{"ping", "PING"},
		{"auth add {permission} to {subject} [in {room:room}]", "auth add x to y in #ops"},
		{"status {component} {state:enum(operational|degraded|partial|major|maintenance)}", "status api degraded"},
		{"silence {monitor} for {for:duration=1h}", "silence db for"},
		{"graph {expr...}", "graph rate(x[5m])"},
		{"[a] [b] c", "a c"},
		{"x [[a] b]", "x a b"},
		{"(switch back|rollback) {app}", "switch back api"},
		{"cancel {kind}#{id:int}", "cancel deploy#42"},
		{"s {x}", "ſ 1"},
		{"{who} ping", "bob ping"},
		{"deploy {app", "deploy api"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, grammar, input string) {
		g, err := Compile(grammar)
		if err != nil {
			return
		}
		_ = g.Usage()
		_ = g.Leading()
		params := g.Params()
		args, flags, ok := g.Match(input)
		if ok {
			for _, p := range params {
				if v, present := args[p.Name]; p.Required && (!present || v == "") {
					t.Fatalf("required %q missing from %v", p.Name, args)
				}
			}
			if len(args) > len(params) || flags != nil && len(flags) == 0 {
				t.Fatalf("bad match: %v %v", args, flags)
			}
		}

		m := NewMatcher(typesAccepting(params))
		if err := m.Add(&Spec{Name: "fuzz", Grammar: grammar}); err != nil {
			t.Fatalf("add %q: %v", grammar, err)
		}
		r := m.Match(ctx, input)
		if ok && r.Spec == nil && strings.TrimSpace(input) != "" {
			t.Fatalf("grammar matched %q but the matcher did not: %+v", input, r)
		}
		if r.Spec != nil && r.Invalid == nil && r.Missing == nil && !ok {
			t.Fatalf("matcher matched %q but the grammar did not", input)
		}
		m.Remove("fuzz")
	})
}

// typesAccepting returns a registry where every type the params name exists
// and accepts anything.
func typesAccepting(params []Param) *Types {
	types := NewTypes()
	for _, p := range params {
		if p.Values == nil {
			_ = types.Register(TypeFunc(p.Type, parseString))
		}
	}
	return types
}
