package command

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const deployGrammar = "deploy[:{task}][!] {app}[/{ref}] [to|in|on {env}[/{hosts}]]"

func TestGrammarMatch(t *testing.T) {
	tests := []struct {
		name    string
		grammar string
		input   string
		ok      bool
		args    Args
		flags   map[string]bool
	}{
		{
			name: "deploy full", grammar: deployGrammar,
			input: "deploy:migrate! api/feature-x to staging/web1", ok: true,
			args:  Args{"task": "migrate", "app": "api", "ref": "feature-x", "env": "staging", "hosts": "web1"},
			flags: map[string]bool{":": true, "!": true, "/": true, "to": true},
		},
		{
			name: "deploy app only", grammar: deployGrammar, input: "deploy api", ok: true,
			args: Args{"app": "api"}, flags: nil,
		},
		{
			name: "deploy force only", grammar: deployGrammar, input: "deploy! api", ok: true,
			args: Args{"app": "api"}, flags: map[string]bool{"!": true},
		},
		{
			name: "deploy alternative recorded as typed", grammar: deployGrammar, input: "deploy api/main on prod", ok: true,
			args: Args{"app": "api", "ref": "main", "env": "prod"}, flags: map[string]bool{"/": true, "on": true},
		},
		{
			name: "literals are case-insensitive", grammar: deployGrammar, input: "DePloy:Migrate API In Prod", ok: true,
			args: Args{"task": "Migrate", "app": "API", "env": "Prod"}, flags: map[string]bool{":": true, "in": true},
		},
		{
			name: "quoted argument", grammar: deployGrammar, input: `deploy "my app"/"feature x" to prod`, ok: true,
			args: Args{"app": "my app", "ref": "feature x", "env": "prod"}, flags: map[string]bool{"/": true, "to": true},
		},
		{
			name: "typographic quotes", grammar: "say {what} now", input: "say “hello there” now", ok: true,
			args: Args{"what": "hello there"}, flags: nil,
		},
		{
			name: "extra whitespace", grammar: deployGrammar, input: "  deploy \t api   to\nprod  ", ok: true,
			args: Args{"app": "api", "env": "prod"}, flags: map[string]bool{"to": true},
		},
		{name: "adjacency is required", grammar: deployGrammar, input: "deploy :migrate api"},
		{name: "whitespace is required", grammar: deployGrammar, input: "deployapi"},
		{name: "optional part needs its argument", grammar: deployGrammar, input: "deploy api to"},
		{name: "trailing words", grammar: deployGrammar, input: "deploy api to prod now"},
		{name: "literal prefix is not a word", grammar: "ping", input: "pingpong"},
		{
			name: "rest of line", grammar: "remind {target} {when...}", input: "remind me in 2h to check  the \"db\"", ok: true,
			args: Args{"target": "me", "when": `in 2h to check  the "db"`}, flags: nil,
		},
		{
			name: "optional rest present", grammar: "help [{command...}]", input: "help deploy", ok: true,
			args: Args{"command": "deploy"}, flags: nil,
		},
		{
			name: "optional rest absent", grammar: "help [{command...}]", input: "help", ok: true,
			args: Args{}, flags: nil,
		},
		{name: "no arguments", grammar: "ping", input: "PING", ok: true, args: Args{}, flags: nil},
		{
			name: "optional argument with literal", grammar: "auth add {permission} to {subject} [in {room:room}]",
			input: "auth add deploy:production to ops-team in #ops", ok: true,
			args: Args{"permission": "deploy:production", "subject": "ops-team", "room": "#ops"}, flags: map[string]bool{"in": true},
		},
		{
			name: "grouped alternatives", grammar: "schedule (pause|resume|delete) {id:int}", input: "schedule Resume 12", ok: true,
			args: Args{"id": "12"}, flags: map[string]bool{"resume": true},
		},
		{
			name: "grouped phrase alternative", grammar: "(switch back|rollback) {app}", input: "switch  back api", ok: true,
			args: Args{"app": "api"}, flags: map[string]bool{"switch back": true},
		},
		{
			name: "inline enum is a single word", grammar: "status {component:component} {state:enum(operational|degraded)}",
			input: "status api degraded", ok: true,
			args: Args{"component": "api", "state": "degraded"}, flags: nil,
		},
		{
			name: "default filled in", grammar: "silence {monitor} for {for:duration=1h}", input: "silence db for", ok: true,
			args: Args{"monitor": "db", "for": "1h"}, flags: nil,
		},
		{
			name: "default overridden", grammar: "silence {monitor} for {for:duration=1h}", input: "silence db for 2d", ok: true,
			args: Args{"monitor": "db", "for": "2d"}, flags: nil,
		},
		{
			name: "optional force word", grammar: "[force] restart {instance}", input: "force restart web1", ok: true,
			args: Args{"instance": "web1"}, flags: map[string]bool{"force": true},
		},
		{
			name: "leading optional absent", grammar: "[force] restart {instance}", input: "restart web1", ok: true,
			args: Args{"instance": "web1"}, flags: nil,
		},
		{name: "leading optional glued", grammar: "[force] restart {instance}", input: "forcerestart web1"},
		{
			name: "two leading optionals", grammar: "[a] [b] c", input: "b c", ok: true,
			args: Args{}, flags: map[string]bool{"b": true},
		},
		{
			name: "nested optionals, inner absent", grammar: "x [[a] b]", input: "x b", ok: true,
			args: Args{}, flags: map[string]bool{"b": true},
		},
		{
			name: "nested optionals, both present", grammar: "x [[a] b]", input: "x a b", ok: true,
			args: Args{}, flags: map[string]bool{"a": true, "b": true},
		},
		{
			name: "whitespace of a left-out part remains", grammar: "x [a]b", input: "x b", ok: true,
			args: Args{}, flags: nil,
		},
		{
			name: "adjacency inside a present part", grammar: "x [a]b", input: "x ab", ok: true,
			args: Args{}, flags: map[string]bool{"a": true},
		},
		{name: "whitespace of a left-out part is required", grammar: "x [a]b", input: "xb"},
		{
			name: "argument stops before adjacent literal", grammar: "cancel {kind}#{id:int}", input: "cancel deploy#42", ok: true,
			args: Args{"kind": "deploy", "id": "42"}, flags: nil,
		},
		{
			name: "argument may contain the literal when it must", grammar: deployGrammar, input: "deploy a/b/c", ok: true,
			args: Args{"app": "a", "ref": "b/c"}, flags: map[string]bool{"/": true},
		},
		{
			name: "status question", grammar: "status {component}?", input: "status api?", ok: true,
			args: Args{"component": "api"}, flags: nil,
		},
		{
			name: "non-ASCII literal folds case", grammar: "größe {x}", input: "GRÖßE 3", ok: true,
			args: Args{"x": "3"}, flags: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Compile(tt.grammar)
			require.NoError(t, err)
			args, flags, ok := g.Match(tt.input)
			require.Equal(t, tt.ok, ok)
			if !tt.ok {
				return
			}
			require.Equal(t, tt.args, args)
			require.Equal(t, tt.flags, flags)
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		grammar string
		err     string
	}{
		{"deploy {app", `grammar "deploy {app": unclosed "{" at column 8`},
		{"deploy [to {env}", `grammar "deploy [to {env}": unclosed "[" at column 8`},
		{"status (a|b", `grammar "status (a|b": unclosed "(" at column 8`},
		{"deploy ]", `grammar "deploy ]": unexpected "]" at column 8`},
		{"deploy }", `grammar "deploy }": unexpected "}" at column 8`},
		{"deploy []", `grammar "deploy []": empty optional part at column 8`},
		{"a || b", `grammar "a || b": unexpected "|" at column 3`},
		{"a|", `grammar "a|": empty alternative at column 3`},
		{"x (a||b)", `grammar "x (a||b)": empty alternative at column 6`},
		{"x {}", `grammar "x {}": invalid argument name "" at column 3`},
		{"x {1a}", `grammar "x {1a}": invalid argument name "1a" at column 3`},
		{"x {a:}", `grammar "x {a:}": invalid type name "" at column 3`},
		{"x {a:enum}", `grammar "x {a:enum}": enum needs values, as in {a:enum(a|b)} at column 3`},
		{"x {a:int(1|2)}", `grammar "x {a:int(1|2)}": type "int" takes no values at column 3`},
		{"x {a:enum(a||b)}", `grammar "x {a:enum(a||b)}": invalid enum value "" at column 3`},
		{"x {a:enum(a|b}", `grammar "x {a:enum(a|b}": unclosed "(" in enum at column 3`},
		{"x {a=}", `grammar "x {a=}": empty default at column 3`},
		{"x {a} {a}", `grammar "x {a} {a}": duplicate argument "a" at column 7`},
		{"x {a}{b}", `grammar "x {a}{b}": argument must not directly follow another argument at column 6`},
		{"x {rest...} y", `grammar "x {rest...} y": rest argument {rest...} must be last at column 3`},
		{"x [{rest...}] y", `grammar "x [{rest...}] y": rest argument {rest...} must be last at column 4`},
		{"", `grammar "": empty`},
		{"   ", `grammar "   ": empty`},
		{"x {a{b}}", `grammar "x {a{b}}": unexpected "{" in argument at column 5`},
		{"[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]", `optional parts nested too deeply at column 17`},
		{"x\xff", `invalid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.grammar, func(t *testing.T) {
			_, err := Compile(tt.grammar)
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestSyntaxErrorType(t *testing.T) {
	_, err := Compile("deploy {app")
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 8, se.Column)
}

func TestGrammarParams(t *testing.T) {
	g, err := Compile("status {component:component} {state:enum(up|down)} [for {for:duration=1h}] [{note...}]")
	require.NoError(t, err)
	require.Equal(t, []Param{
		{Name: "component", Type: "component", Required: true},
		{Name: "state", Type: "enum", Values: []string{"up", "down"}, Required: true},
		{Name: "for", Type: "duration", Default: "1h"},
		{Name: "note", Type: "string", Rest: true},
	}, g.Params())

	g, err = Compile(deployGrammar)
	require.NoError(t, err)
	var names []string
	for _, p := range g.Params() {
		names = append(names, p.Name)
		require.Equal(t, p.Name == "app", p.Required, p.Name)
	}
	require.Equal(t, []string{"task", "app", "ref", "env", "hosts"}, names)
}

func TestGrammarLeading(t *testing.T) {
	tests := []struct {
		grammar string
		leading [][]string
		keys    []string
	}{
		{deployGrammar, [][]string{{"deploy"}}, []string{"deploy"}},
		{"auth add {permission} to {subject}", [][]string{{"auth", "add"}}, []string{"auth"}},
		{"auth (add|remove) {p}", [][]string{{"auth", "add"}, {"auth", "remove"}}, []string{"auth"}},
		{"to|in|on {env}", [][]string{{"to"}, {"in"}, {"on"}}, []string{"to", "in", "on"}},
		{"(switch back|rollback) {app}", [][]string{{"switch", "back"}, {"rollback"}}, []string{"switch", "rollback"}},
		{"ping", [][]string{{"ping"}}, []string{"ping"}},
		{"Status? {x}", [][]string{{"Status?"}}, []string{"status"}},
		{"deploy:lock {app} in {env}", [][]string{{"deploy:lock"}}, []string{"deploy"}},
		{"{who} ping", nil, nil},
		{"[force] restart {i}", nil, nil},
		// The first word could run on into the argument, so it cannot be indexed.
		{"svc{n} restart", [][]string{{"svc"}}, nil},
		{"svc[{n}] restart", [][]string{{"svc"}}, nil},
		{"svc[:{n}] restart", [][]string{{"svc"}}, []string{"svc"}},
	}
	for _, tt := range tests {
		t.Run(tt.grammar, func(t *testing.T) {
			g, err := Compile(tt.grammar)
			require.NoError(t, err)
			require.Equal(t, tt.leading, nilIfEmpty(g.Leading()))
			require.Equal(t, tt.keys, g.keys)
		})
	}
}

func nilIfEmpty(l [][]string) [][]string {
	if len(l) == 0 {
		return nil
	}
	return l
}

func TestGrammarUsage(t *testing.T) {
	tests := []struct{ grammar, usage string }{
		{deployGrammar, "deploy[:TASK][!] APP[/REF] [to|in|on ENV[/HOSTS]]"},
		{"remind {target} {when...}", "remind TARGET WHEN..."},
		{"help [{command...}]", "help [COMMAND...]"},
		{"status {component:component} {state:enum(operational|degraded)}", "status COMPONENT (operational|degraded)"},
		{"silence {monitor} for {for:duration=1h}", "silence MONITOR for [FOR=1h]"},
		{"schedule (pause|resume)   {id}", "schedule (pause|resume) ID"},
		{"x [ a ]b", "x [a] b"},
	}
	for _, tt := range tests {
		g, err := Compile(tt.grammar)
		require.NoError(t, err)
		require.Equal(t, tt.usage, g.Usage(), tt.grammar)
		require.Equal(t, tt.grammar, g.String())
	}
}

// TestMatchIsLinear checks that a grammar inviting catastrophic backtracking
// matches a long non-matching input quickly.
func TestMatchIsLinear(t *testing.T) {
	g, err := Compile("x [[[[a] [b]] [{c}]] [[{d}] [{e}]]] [{f}[/{g}]] [{h}[/{i}][/{j}]] y")
	require.NoError(t, err)
	long := "x"
	for range 2000 {
		long += " a/b/c/d/e/f/g"
	}
	_, _, ok := g.Match(long + " z")
	require.False(t, ok)
}
