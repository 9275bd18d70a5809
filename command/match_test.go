package command

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func newTestMatcher(t *testing.T, grammars map[string]string) *Matcher {
	t.Helper()
	types := NewTypes()
	require.NoError(t, types.Register(Enum("component", "api", "web", "db")))
	m := NewMatcher(types)
	for name, g := range grammars {
		require.NoError(t, m.Add(&Spec{Name: name, Grammar: g}))
	}
	return m
}

var testGrammars = map[string]string{
	"deploy":      deployGrammar,
	"deploy.lock": "deploy:lock {app} in {env} [{reason...}]",
	"deploys":     "deploys {app}[/{branch}] [in {env}]",
	"status":      "status {component:component} {state:enum(operational|degraded|partial|major|maintenance)}",
	"status.open": "status open (investigating|identified|monitoring) {message...}",
	"remind":      "remind {target} {when...}",
	"help":        "help [{command...}]",
	"ping":        "ping",
	"auth.add":    "auth add {permission} to {subject} [in {room:room}]",
	"silence":     "silence {monitor} for {for:duration=1H}",
	"scale":       "scale {instance} to {count:int}",
	"platform":    "platform [{env}]",
}

func TestMatcherMatch(t *testing.T) {
	m := newTestMatcher(t, testGrammars)
	ctx := context.Background()
	tests := []struct {
		input string
		spec  string
		args  Args
		flags map[string]bool
	}{
		{
			input: "deploy:migrate! api/feature-x to staging/web1", spec: "deploy",
			args:  Args{"task": "migrate", "app": "api", "ref": "feature-x", "env": "staging", "hosts": "web1"},
			flags: map[string]bool{":": true, "!": true, "/": true, "to": true},
		},
		{input: "deploy api", spec: "deploy", args: Args{"app": "api"}, flags: nil},
		{input: "Deploy API", spec: "deploy", args: Args{"app": "API"}, flags: nil},
		{input: "deploy:lock api in prod db migration", spec: "deploy.lock", args: Args{"app": "api", "env": "prod", "reason": "db migration"}, flags: nil},
		{input: "deploys api/main", spec: "deploys", args: Args{"app": "api", "branch": "main"}, flags: map[string]bool{"/": true}},
		{input: "status API degraded", spec: "status", args: Args{"component": "api", "state": "degraded"}, flags: nil},
		{input: "status open investigating db is slow", spec: "status.open", args: Args{"message": "db is slow"}, flags: map[string]bool{"investigating": true}},
		{input: "help", spec: "help", args: Args{}, flags: nil},
		{input: "auth add deploy:production to @alice in ops", spec: "auth.add", args: Args{"permission": "deploy:production", "subject": "@alice", "room": "#ops"}, flags: map[string]bool{"in": true}},
		{input: "silence db for", spec: "silence", args: Args{"monitor": "db", "for": "1h"}, flags: nil},
		{input: "silence db for 2D", spec: "silence", args: Args{"monitor": "db", "for": "2d"}, flags: nil},
		{input: "scale web to 007", spec: "scale", args: Args{"instance": "web", "count": "7"}, flags: nil},
		{input: "platform", spec: "platform", args: Args{}, flags: nil},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			r := m.Match(ctx, tt.input)
			require.True(t, r.Matched(), "%+v", r)
			require.Equal(t, tt.spec, r.Spec.Name)
			require.Equal(t, tt.args, r.Args)
			require.Equal(t, tt.flags, r.Flags)
		})
	}
}

func TestMatcherMissing(t *testing.T) {
	m := newTestMatcher(t, testGrammars)
	ctx := context.Background()
	tests := []struct {
		input, spec, param string
		choices            []string
	}{
		{input: "deploy", spec: "deploy", param: "app"},
		{input: "deploy! ", spec: "deploy", param: "app"},
		{input: "deploy api to", spec: "deploy", param: "env"},
		{input: "status", spec: "status", param: "component", choices: []string{"api", "web", "db"}},
		{input: "status api", spec: "status", param: "state", choices: []string{"operational", "degraded", "partial", "major", "maintenance"}},
		{input: "status open investigating", spec: "status.open", param: "message"},
		{input: "remind me", spec: "remind", param: "when"},
		{input: "auth add deploy to", spec: "auth.add", param: "subject"},
		{input: "scale web to", spec: "scale", param: "count"},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			r := m.Match(ctx, tt.input)
			require.False(t, r.Matched())
			require.NotNil(t, r.Missing, "%+v", r)
			require.Equal(t, tt.spec, r.Spec.Name)
			require.Equal(t, tt.param, r.Missing.Name)
			require.Equal(t, tt.choices, r.Choices)
		})
	}
}

func TestMatcherInvalid(t *testing.T) {
	m := newTestMatcher(t, testGrammars)
	ctx := context.Background()
	tests := []struct {
		input, spec, param, err string
		choices                 []string
	}{
		{"scale web to many", "scale", "count", `"many" is not an int`, nil},
		{`silence db for "5 minutes"`, "silence", "for", `"5 minutes" is not a duration`, nil},
		{
			"status api broken", "status", "state", `"broken" is not one of operational, degraded, partial, major, maintenance`,
			[]string{"operational", "degraded", "partial", "major", "maintenance"},
		},
		{"status cache degraded", "status", "component", `"cache" is not one of api, web, db`, []string{"api", "web", "db"}},
		{"auth add x to bob in @ops", "auth.add", "room", `"@ops" is not a room`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			r := m.Match(ctx, tt.input)
			require.False(t, r.Matched())
			require.Equal(t, tt.spec, r.Spec.Name)
			require.EqualError(t, r.Invalid, tt.err)
			var ae *ArgError
			require.ErrorAs(t, r.Invalid, &ae)
			require.Equal(t, tt.param, ae.Param)
			require.Equal(t, tt.choices, r.Choices)
		})
	}
}

func TestMatcherSpecificity(t *testing.T) {
	ctx := context.Background()
	m := newTestMatcher(t, map[string]string{
		"status.set":  "status {component} {state}",
		"status.open": "status open {name...}",
		"restart.n":   "restart {n:int}",
		"restart.any": "restart {name}",
		"who":         "{who} ping",
		"ping":        "ping",
		"ping.who":    "ping {who}",
	})
	r := m.Match(ctx, "status open outage")
	require.True(t, r.Matched())
	require.Equal(t, "status.open", r.Spec.Name, "more literals win")

	r = m.Match(ctx, "status api down")
	require.Equal(t, "status.set", r.Spec.Name)

	r = m.Match(ctx, "restart web")
	require.Equal(t, "restart.any", r.Spec.Name, "a valid match beats an invalid one")

	r = m.Match(ctx, "restart 5")
	require.Nil(t, r.Spec)
	require.Len(t, r.Ambiguous, 2)
	require.ElementsMatch(t, []string{"restart.n", "restart.any"}, []string{r.Ambiguous[0].Name, r.Ambiguous[1].Name})

	r = m.Match(ctx, "bob ping")
	require.Equal(t, "who", r.Spec.Name, "fallback grammars are matched")
	r = m.Match(ctx, "ping ping")
	require.Len(t, r.Ambiguous, 2, "fallback and indexed tie: %+v", r)
}

func TestMatcherSuggestions(t *testing.T) {
	m := newTestMatcher(t, testGrammars)
	ctx := context.Background()
	tests := []struct {
		input string
		want  []string
	}{
		{"deplyo api", []string{"deploy"}},
		{"dploy:migrate api", []string{"deploy"}},
		{"pign", []string{"ping"}},
		{"auth ad x", []string{"auth add"}},
		{"stauts api", []string{"status"}},
		{"xyzzy", []string{}},
		{"ping me", []string{"ping"}},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			r := m.Match(ctx, tt.input)
			require.Nil(t, r.Spec)
			require.Nil(t, r.Missing)
			require.LessOrEqual(t, len(r.Suggestions), maxSuggestions)
			if len(tt.want) == 0 {
				require.Empty(t, r.Suggestions)
				return
			}
			require.Equal(t, tt.want[0], r.Suggestions[0], "%v", r.Suggestions)
		})
	}
	require.Equal(t, 1, osa("deplyo", "deploy"))
	require.Equal(t, 3, osa("kitten", "sitting"))
	require.Equal(t, 2, osa("", "ab"))
}

func TestMatcherAddErrors(t *testing.T) {
	m := newTestMatcher(t, nil)
	tests := []struct {
		spec *Spec
		err  string
	}{
		{nil, "a spec needs a name"},
		{&Spec{Grammar: "ping"}, "a spec needs a name"},
		{&Spec{Name: "x", Grammar: "deploy {app"}, `add command "x": grammar "deploy {app": unclosed "{" at column 8`},
		{&Spec{Name: "x", Grammar: "deploy {app:application}"}, `add command "x": unknown type "application" for argument {app}`},
		{&Spec{Name: "x", Grammar: "wait {d:duration=soon}"}, `add command "x": default of {d}: "soon" is not a duration`},
		{&Spec{Name: "x", Grammar: "deploy {app}", ForceFlag: "!"}, `force flag "!" is not an optional literal`},
		{&Spec{Name: "x", Grammar: "deploy {app}", Permission: "deploy:{env}"}, `argument "env" named in permission or secrets is not in the grammar`},
		{&Spec{Name: "x", Grammar: "login {user}", Secret: []string{"password"}}, `argument "password" named in permission`},
	}
	for _, tt := range tests {
		require.ErrorContains(t, m.Add(tt.spec), tt.err)
	}
	require.NoError(t, m.Add(&Spec{Name: "deploy", Grammar: deployGrammar, ForceFlag: "!", Permission: "deploy:{env}"}))
	require.ErrorContains(t, m.Add(&Spec{Name: "deploy", Grammar: "ping"}), "already registered")
}

func TestMatcherRemoveAndIndex(t *testing.T) {
	ctx := context.Background()
	m := newTestMatcher(t, nil)
	for i := range 100 {
		require.NoError(t, m.Add(&Spec{Name: fmt.Sprintf("svc%d", i), Grammar: fmt.Sprintf("svc%d restart {instance} [in {env}]", i)}))
	}
	require.NoError(t, m.Add(&Spec{Name: "who", Grammar: "{who} ping"}))
	keyed, fallback := m.idx.lookup("svc42")
	require.Len(t, keyed, 1, "the index narrows to one command")
	require.Len(t, fallback, 1)
	require.Len(t, m.Specs(), 101)

	r := m.Match(ctx, "SVC42 restart web-1 in prod")
	require.True(t, r.Matched())
	require.Equal(t, "svc42", r.Spec.Name)

	g, ok := m.Grammar("svc42")
	require.True(t, ok)
	require.Equal(t, "svc42 restart INSTANCE [in ENV]", g.Usage())

	m.Remove("svc42")
	m.Remove("who")
	m.Remove("unknown")
	require.False(t, m.Match(ctx, "svc42 restart web-1").Matched())
	keyed, fallback = m.idx.lookup("svc42")
	require.Empty(t, keyed)
	require.Empty(t, fallback)
	require.NotContains(t, m.idx.byKey, "svc42")
	require.Len(t, m.Specs(), 99)
}

func TestMatcherThread(t *testing.T) {
	ctx := context.Background()
	m := NewMatcher(nil)
	require.NoError(t, m.Add(&Spec{Name: "retry.deploy", Grammar: "retry", Thread: "deploy"}))
	require.NoError(t, m.Add(&Spec{Name: "retry.job", Grammar: "retry", Thread: "job"}))
	require.NoError(t, m.Add(&Spec{Name: "ok", Grammar: "ok [{what...}]"}))
	require.NoError(t, m.Add(&Spec{Name: "ok.deploy", Grammar: "ok [{what...}]", Thread: "deploy"}))

	require.False(t, m.Match(ctx, "retry").Matched())
	r := m.MatchThread(ctx, "retry", "deploy")
	require.Equal(t, "retry.deploy", r.Spec.Name)
	r = m.MatchThread(ctx, "retry", "job")
	require.Equal(t, "retry.job", r.Spec.Name)

	require.Equal(t, "ok", m.Match(ctx, "ok deploy").Spec.Name)
	require.Equal(t, "ok.deploy", m.MatchThread(ctx, "ok deploy", "deploy").Spec.Name, "thread commands win a tie")
}

func TestMatcherEmpty(t *testing.T) {
	m := newTestMatcher(t, testGrammars)
	require.Equal(t, Result{}, m.Match(context.Background(), "   "))
	long := "remind me " + strings.Repeat("x", MaxText)
	require.Equal(t, Result{}, m.Match(context.Background(), long))
	require.True(t, m.Match(context.Background(), long[:MaxText]).Matched())
}

func TestMatcherConcurrent(t *testing.T) {
	ctx := context.Background()
	m := newTestMatcher(t, testGrammars)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				name := fmt.Sprintf("w%d-%d", w, i)
				if err := m.Add(&Spec{Name: name, Grammar: fmt.Sprintf("%s go {x}", name)}); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					m.Remove(name)
				}
			}
		})
		wg.Go(func() {
			for range 500 {
				if r := m.Match(ctx, "deploy:migrate! api/feature-x to staging/web1"); !r.Matched() {
					t.Errorf("no match: %+v", r)
					return
				}
				m.Match(ctx, "deplyo api")
				m.Match(ctx, "status")
			}
		})
	}
	wg.Wait()
	require.Len(t, m.Specs(), len(testGrammars)+4*100)
}
