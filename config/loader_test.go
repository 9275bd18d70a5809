package config_test

import (
	"errors"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/opsbot/opsbot/config"
)

// load registers a fresh fixture and loads src as opsbot.yaml.
func load(t *testing.T, src string, env map[string]string) (*fixture, *config.Loader, error) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	f := newFixture()
	l := config.NewLoader(config.WithEnv(env))
	require.NoError(t, f.register(l))
	return f, l, l.Load("opsbot.yaml", []byte(dedent(src)))
}

// dedent strips the common indentation of a raw string literal (tabs in
// Go source become nothing; YAML must not see tabs).
func dedent(s string) string {
	s = strings.TrimPrefix(s, "\n")
	lines := strings.Split(s, "\n")
	prefix := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if prefix < 0 || n < prefix {
			prefix = n
		}
	}
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = ""
		} else if prefix > 0 {
			lines[i] = l[prefix:]
		}
	}
	return strings.Join(lines, "\n")
}

func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestFullConfig(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	require.NoError(t, err)
	f := newFixture()
	l := config.NewLoader(config.WithEnv(map[string]string{
		"DB_PASSWORD":   "pw",
		"GITHUB_SECRET": "gh-s3cret",
	}))
	require.NoError(t, f.register(l))
	require.NoError(t, l.Load("full.yaml", data))

	assert.Equal(t, botConfig{Name: "hubot", Aliases: []string{"hu", "h"}, Prefix: "!"}, f.Bot, "prefix keeps its default")
	assert.Equal(t, "0.0.0.0:8080", f.Listen)

	assert.Equal(t, "postgres://opsbot:pw@db/opsbot", f.Database.URL.Reveal())
	assert.Equal(t, uint8(16), f.Database.MaxConns)
	assert.Equal(t, 48*time.Hour, f.Database.Idle.D())
	assert.Equal(t, 0.75, f.Database.Ratio)
	assert.Equal(t, map[string]any{"sslmode": "require", "retries": 3, "tags": []any{"a", "b"}}, f.Database.Extra)

	require.NotNil(t, f.Timezone)
	assert.Equal(t, "Europe/Berlin", *f.Timezone)

	require.Len(t, f.Commands, 3)
	assert.Equal(t, command{Name: "uptime", Argv: argv{"uptime"}}, f.Commands[0])
	restart := command{
		Name:       "restart",
		Argv:       argv{"systemctl", "restart", "nginx"},
		Env:        map[string]string{"LANG": "C", "HOME": "${HOME}"},
		Timeout:    5 * time.Minute,
		Background: true,
		Severity:   1,
		Retries:    16,
	}
	assert.Equal(t, restart, f.Commands[1])
	slow := restart
	slow.Name, slow.Timeout = "restart-slow", 7*24*time.Hour
	assert.Equal(t, slow, f.Commands[2], "merge key with overrides")

	assert.Equal(t, map[string]hook{
		"github": {Secret: "gh-s3cret", Events: []string{"push"}}, // default entry kept its events
		"gitlab": {Secret: "literal-token", Events: []string{"push", "merge_request"}},
	}, f.Hooks)

	assert.Equal(t, netip.MustParseAddr("10.0.0.1"), f.Net.Bind)
	assert.Equal(t, uint16(9000), f.Net.MTU)
	require.Len(t, f.Net.Weights, 3)
	assert.Equal(t, []float64{1.5, 2}, f.Net.Weights[:2])
	assert.True(t, math.IsInf(f.Net.Weights[2], 1))
	assert.Equal(t, map[string]bool{"tcp_nodelay": true}, f.Net.Opts)

	for _, s := range l.Sections() {
		assert.True(t, l.Present(s), s)
	}
}

func TestDefaults(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"empty file", ""},
		{"only comments", "# nothing here\n"},
		{"empty document", "---\n"},
		{"null document", "~\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, l, err := load(t, tc.src, nil)
			require.NoError(t, err)
			assert.Equal(t, newFixture(), f)
			assert.False(t, l.Present("bot"))
		})
	}
}

func TestDefaultsRetained(t *testing.T) {
	f, l, err := load(t, `
		bot:
		  name: hubot
		database:
		  ratio: 1
		net:
		  bind: ::1
		hooks:
		  github:
		    secret: s
		commands:
	`, nil)
	require.NoError(t, err)
	want := newFixture()
	want.Bot.Name = "hubot"
	want.Database.Ratio = 1
	want.Net.Bind = netip.MustParseAddr("::1")
	want.Hooks["github"] = hook{Secret: "s", Events: []string{"push"}}
	assert.Equal(t, want, f)
	assert.True(t, l.Present("bot"))
	assert.True(t, l.Present("commands"), "an empty section is present")
	assert.False(t, l.Present("listen"))
	assert.Equal(t, []string{"bot", "commands", "database", "hooks", "listen", "net", "timezone"}, l.Sections())
}

func TestEmptyValues(t *testing.T) {
	f, _, err := load(t, `
		bot:
		  name:
		  aliases:
		hooks:
		timezone:
	`, nil)
	require.NoError(t, err)
	assert.Equal(t, "opsbot", f.Bot.Name, "an empty scalar keeps its default")
	assert.Nil(t, f.Hooks, "an empty map clears it")
	assert.Nil(t, f.Timezone)
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		{
			name: "unknown key at depth",
			src: `
				bot:
				  name: x
				commands:
				  - name: a
				    argv: [a]
				  - name: b
				    argv: [b]
				    envv:
				      X: y
			`,
			want: []string{`opsbot.yaml:8: commands[1].envv: unknown key (known: name, argv, env, timeout, background, severity, retries)`},
		},
		{
			name: "unknown key in section",
			src: `
				# comment
				bot:
				  name: x
				  nmae: y
			`,
			want: []string{`opsbot.yaml:4: bot.nmae: unknown key (known: name, aliases, prefix)`},
		},
		{
			name: "ignored field is unknown",
			src: `
				commands:
				  - name: a
				    argv: [a]
				    internal: x
			`,
			want: []string{`opsbot.yaml:4: commands[0].internal: unknown key (known: name, argv, env, timeout, background, severity, retries)`},
		},
		{
			name: "unknown section",
			src: `
				bot:
				  name: x
				slak:
				  token: y
			`,
			want: []string{`opsbot.yaml:3: slak: unknown section (known: bot, commands, database, hooks, listen, net, timezone)`},
		},
		{
			name: "bad duration",
			src: `
				commands:
				  - name: a
				    argv: [a]
				  - name: b
				    argv: [b]
				  - name: c
				    argv: [c]
				    timeout: 5 minutes
			`,
			want: []string{`opsbot.yaml:8: commands[2].timeout: "5 minutes" is not a duration`},
		},
		{
			name: "bad config.Duration",
			src:  "database:\n  idle: soon\n",
			want: []string{`opsbot.yaml:2: database.idle: "soon" is not a duration`},
		},
		{
			name: "duration without unit",
			src:  "database:\n  idle: 30\n",
			want: []string{`opsbot.yaml:2: database.idle: "30" is not a duration`},
		},
		{
			name: "bad int",
			src:  "commands:\n  - name: a\n    argv: [a]\n    retries: abc\n",
			want: []string{`opsbot.yaml:4: commands[0].retries: "abc" is not an integer`},
		},
		{
			name: "uint out of range and negative",
			src:  "database:\n  max_conns: 300\nnet:\n  mtu: -1\n",
			want: []string{
				`opsbot.yaml:2: database.max_conns: "300" is out of range for uint8`,
				`opsbot.yaml:4: net.mtu: "-1" is not a non-negative integer`,
			},
		},
		{
			name: "bad bool and float",
			src:  "commands:\n  - name: a\n    argv: [a]\n    background: maybe\ndatabase:\n  ratio: half\n",
			want: []string{
				`opsbot.yaml:4: commands[0].background: "maybe" is not a boolean (true or false)`,
				`opsbot.yaml:6: database.ratio: "half" is not a number`,
			},
		},
		{
			name: "text unmarshaler error",
			src:  "net:\n  bind: 300.1.1.1\n",
			want: []string{`opsbot.yaml:2: net.bind: ParseAddr("300.1.1.1"): IPv4 field has value >255`},
		},
		{
			name: "wrong kinds",
			src: `
				bot:
				  name: [a, b]
				  aliases: hubot
				listen:
				  port: 8080
				commands: {}
				database: postgres://x
			`,
			want: []string{
				`opsbot.yaml:2: bot.name: expected a string, got a sequence`,
				`opsbot.yaml:3: bot.aliases: expected a sequence, got "hubot"`,
				`opsbot.yaml:4: listen: expected a string, got a mapping`,
				`opsbot.yaml:6: commands: expected a sequence, got a mapping`,
				`opsbot.yaml:7: database: expected a mapping, got a scalar value`, // database holds a Secret
			},
		},
		{
			name: "duplicate key",
			src: `
				bot:
				  name: a
				  prefix: "!"
				  name: b
			`,
			want: []string{`opsbot.yaml:4: bot.name: duplicate key (first on line 2)`},
		},
		{
			name: "duplicate section",
			src:  "bot:\n  name: a\nlisten: x\nbot:\n  name: b\n",
			want: []string{`opsbot.yaml:4: bot: duplicate key (first on line 1)`},
		},
		{
			name: "duplicate map key",
			src:  "hooks:\n  github: {}\n  github: {}\n",
			want: []string{`opsbot.yaml:3: hooks.github: duplicate key (first on line 2)`},
		},
		{
			name: "several documents",
			src:  "bot:\n  name: a\n---\nbot:\n  name: b\n",
			want: []string{`opsbot.yaml:3: the file must hold one YAML document, found a second`},
		},
		{
			name: "top level is a sequence",
			src:  "- bot\n- listen\n",
			want: []string{`opsbot.yaml:1: the top level must be a mapping of sections (bot, commands, database, hooks, listen, net, timezone)`},
		},
		{
			name: "syntax error",
			src:  "bot:\n  name: a\n  prefix x\n  aliases: []\n",
			want: []string{`opsbot.yaml:3: could not find expected ':'`},
		},
		{
			name: "UnmarshalYAML error at its line",
			src:  "commands:\n  - name: a\n    argv: [a]\n    severity: loud\n",
			want: []string{`opsbot.yaml:4: commands[0].severity: unknown severity "loud" (info, warning or critical)`},
		},
		{
			name: "Node.Decode error inside UnmarshalYAML keeps its line",
			src:  "commands:\n  - name: a\n    argv:\n      - ls\n      - [x]\n",
			want: []string{`opsbot.yaml:5: commands[0].argv: cannot unmarshal !!seq into string`},
		},
		{
			name: "validators on nested values and the section",
			src: `
				bot:
				  name: hubot
				  prefix: "!!!!"
				  aliases: [hu, hubot]
				commands:
				  - name: a
				    argv: [a]
				  - argv: [b]
				    timeout: -1m
				  - name: a
				    argv: [c]
			`,
			want: []string{
				`opsbot.yaml:3: bot.prefix: "!!!!" is longer than 3 characters`,
				`opsbot.yaml:4: bot.aliases[1]: repeats the name`,
				`opsbot.yaml:8: commands[1].name: is required`, // no such key: the item's line
				`opsbot.yaml:9: commands[1].timeout: must not be negative`,
				`opsbot.yaml:10: commands[2].name: "a" is already the name of commands[0]`,
			},
		},
		{
			name: "validator skipped when decoding failed",
			src:  "commands:\n  - argv: [a]\n    timeout: later\n",
			want: []string{`opsbot.yaml:3: commands[0].timeout: "later" is not a duration`},
		},
		{
			name: "all problems, sorted by line",
			src: `
				slak: {}
				bot:
				  nmae: x
				  name: x
				  name: y
				database:
				  max_conns: many
				listen: ${LISTEN}
			`,
			want: []string{
				`opsbot.yaml:1: slak: unknown section (known: bot, commands, database, hooks, listen, net, timezone)`,
				`opsbot.yaml:3: bot.nmae: unknown key (known: name, aliases, prefix)`,
				`opsbot.yaml:5: bot.name: duplicate key (first on line 4)`,
				`opsbot.yaml:7: database.max_conns: "many" is not a non-negative integer`,
				`opsbot.yaml:8: listen: environment variable LISTEN is not set`,
			},
		},
		{
			name: "alias cycle",
			src:  "database:\n  extra: &x\n    self: *x\n",
			want: []string{`opsbot.yaml:3: database.extra.self: alias *x refers to itself`},
		},
		{
			name: "merge of a scalar",
			src:  "bot:\n  <<: hubot\n",
			want: []string{`opsbot.yaml:2: bot: merge (<<) takes a mapping or a sequence of mappings`},
		},
		{
			name: "non-string key",
			src:  "hooks:\n  [a, b]: {}\n",
			want: []string{`opsbot.yaml:2: hooks: mapping keys must be strings`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := load(t, tc.src, tc.env)
			require.Error(t, err)
			assert.Equal(t, tc.want, errLines(err))
			var errs config.Errors
			require.ErrorAs(t, err, &errs)
			assert.Len(t, errs, len(tc.want))
			var one *config.Error
			require.ErrorAs(t, err, &one)
			assert.Equal(t, "opsbot.yaml", one.File)
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	env := map[string]string{
		"PORT":   "9090",
		"EMPTY":  "",
		"NAME":   "hubot",
		"SECRET": "s3cr3t",
		"ON":     "true",
		"TWO_D":  "2d",
	}
	for _, tc := range []struct {
		name string
		src  string
		want func(*testing.T, *fixture)
		err  []string
	}{
		{
			name: "set",
			src:  "listen: 127.0.0.1:${PORT}\n",
			want: func(t *testing.T, f *fixture) { assert.Equal(t, "127.0.0.1:9090", f.Listen) },
		},
		{
			name: "typed values from the environment",
			src:  "database:\n  max_conns: ${PORT:-0}0\n  idle: ${TWO_D}\ncommands:\n  - name: x\n    argv: [x]\n    background: ${ON}\n",
			err:  []string{`opsbot.yaml:2: database.max_conns: "90900" is out of range for uint8`},
		},
		{
			name: "typed values from the environment, fine",
			src:  "database:\n  idle: ${TWO_D}\ncommands:\n  - name: x\n    argv: [x]\n    background: ${ON}\n    retries: ${PORT}\n",
			want: func(t *testing.T, f *fixture) {
				assert.Equal(t, 48*time.Hour, f.Database.Idle.D())
				assert.True(t, f.Commands[0].Background)
				assert.Equal(t, 9090, f.Commands[0].Retries)
			},
		},
		{
			name: "unset",
			src:  "bot:\n  name: x\nhooks:\n  github:\n    secret: ${GITHUB_SECRET}\n",
			err:  []string{`opsbot.yaml:5: hooks.github.secret: environment variable GITHUB_SECRET is not set`},
		},
		{
			name: "set but empty is fine",
			src:  "bot:\n  prefix: ${EMPTY}\n",
			want: func(t *testing.T, f *fixture) { assert.Equal(t, "", f.Bot.Prefix) },
		},
		{
			name: "defaults",
			src:  "bot:\n  name: ${MISSING:-opsbot-${NAME}}\n  prefix: ${EMPTY:-?}\n  aliases: [\"${EMPTY-unused}\", \"${MISSING-x}\"]\n",
			want: func(t *testing.T, f *fixture) {
				assert.Equal(t, botConfig{Name: "opsbot-hubot", Prefix: "?", Aliases: []string{"", "x"}}, f.Bot)
			},
		},
		{
			name: "required with message",
			src:  "bot:\n  name: ${EMPTY:?set EMPTY to the bot's name}\n  prefix: ${MISSING?}\n",
			err: []string{
				`opsbot.yaml:2: bot.name: environment variable EMPTY is empty: set EMPTY to the bot's name`,
				`opsbot.yaml:3: bot.prefix: environment variable MISSING is not set`,
			},
		},
		{
			name: "escape",
			src:  "bot:\n  name: pa$$word costs $5 ${NAME}$\n  prefix: $${\nlisten: $$${NAME}\n",
			want: func(t *testing.T, f *fixture) {
				assert.Equal(t, "pa$word costs $5 hubot$", f.Bot.Name)
				assert.Equal(t, "${", f.Bot.Prefix)
				assert.Equal(t, "$hubot", f.Listen)
			},
		},
		{
			name: "keys are not expanded",
			src:  "hooks:\n  ${NAME}:\n    secret: x\n",
			want: func(t *testing.T, f *fixture) { assert.Contains(t, f.Hooks, "${NAME}") },
		},
		{
			name: "bad references",
			src:  "bot:\n  name: ${NAME\n  prefix: ${1X}\n  aliases: [\"${NAME:x}\"]\n",
			err: []string{
				`opsbot.yaml:2: bot.name: invalid environment reference (want ${NAME}, ${NAME:-default}, or $$ for a literal $)`,
				`opsbot.yaml:3: bot.prefix: invalid environment reference (want ${NAME}, ${NAME:-default}, or $$ for a literal $)`,
				`opsbot.yaml:4: bot.aliases[0]: invalid environment reference (want ${NAME}, ${NAME:-default}, or $$ for a literal $)`,
			},
		},
		{
			name: "anchored value expanded once",
			src:  "listen: &n $$${NAME}\nbot:\n  aliases: [*n, *n]\n",
			want: func(t *testing.T, f *fixture) {
				assert.Equal(t, "$hubot", f.Listen)
				assert.Equal(t, []string{"$hubot", "$hubot"}, f.Bot.Aliases)
			},
		},
		{
			name: "UnmarshalYAML sees expanded values",
			src:  "commands:\n  - name: x\n    argv: [echo, \"${NAME}\"]\n",
			want: func(t *testing.T, f *fixture) { assert.Equal(t, argv{"echo", "hubot"}, f.Commands[0].Argv) },
		},
		{
			name: "UnmarshalYAML input with an unset variable",
			src:  "commands:\n  - name: x\n    argv:\n      - echo\n      - ${NOPE}\n",
			err:  []string{`opsbot.yaml:5: commands[0].argv[1]: environment variable NOPE is not set`},
		},
		{
			name: "any keeps environment values as strings",
			src:  "database:\n  extra:\n    port: ${PORT}\n    literal: 9090\n",
			want: func(t *testing.T, f *fixture) {
				assert.Equal(t, map[string]any{"port": "9090", "literal": 9090}, f.Database.Extra)
			},
		},
		{
			name: "unknown keys are not expanded",
			src:  "bot:\n  nmae: ${NOPE}\n",
			err:  []string{`opsbot.yaml:2: bot.nmae: unknown key (known: name, aliases, prefix)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, err := load(t, tc.src, env)
			if tc.err != nil {
				assert.Equal(t, tc.err, errLines(err))
				return
			}
			require.NoError(t, err)
			tc.want(t, f)
		})
	}
}

func TestSecretValuesNotInErrors(t *testing.T) {
	env := map[string]string{"TOKEN": "tok-s3cr3t"}
	for _, src := range []string{
		"hooks:\n  github:\n    secret: [tok-s3cr3t]\n",
		"hooks:\n  github:\n    secret: {tok-s3cr3t: 1}\n",
		"hooks:\n  github:\n    events: ${TOKEN}\n",         // a value from the environment
		"hooks:\n  github: tok-s3cr3t\n",                    // a map of secrets
		"database: ${TOKEN}\n",                              // a value from the environment
		"database:\n  url: postgres://u:${TOKEN}@db/${X}\n", // reference error
	} {
		_, _, err := load(t, src, env)
		require.Error(t, err, src)
		assert.NotContains(t, err.Error(), "tok-s3cr3t", src)
	}
}

type Limits struct {
	MTU uint16 `yaml:"mtu"`
}

type withPtrInline struct {
	*Limits `yaml:",inline"`
	Rest    map[string]int `yaml:",inline"`
}

func TestInline(t *testing.T) {
	var w withPtrInline
	l := config.NewLoader()
	require.NoError(t, l.Register("w", &w))
	require.NoError(t, l.Load("x.yaml", []byte("w:\n  mtu: 9000\n  a: 1\n  b: 2\n")))
	require.NotNil(t, w.Limits)
	assert.Equal(t, uint16(9000), w.MTU)
	assert.Equal(t, map[string]int{"a": 1, "b": 2}, w.Rest)

	err := l.Load("x.yaml", []byte("w:\n  c: x\n"))
	assert.EqualError(t, err, `x.yaml:2: w.c: "x" is not an integer`)
}

func TestScalarSections(t *testing.T) {
	var (
		port   = 8080
		tags   = []string{"default"}
		limits = map[string]time.Duration{"deploy": time.Hour}
		anyv   any
	)
	l := config.NewLoader()
	require.NoError(t, l.Register("port", &port))
	require.NoError(t, l.Register("tags", &tags))
	require.NoError(t, l.Register("limits", &limits))
	require.NoError(t, l.Register("any", &anyv))
	require.NoError(t, l.Load("x.yaml", []byte("port: \"9090\"\ntags: [a]\nlimits:\n  restart: 1m\nany: [1, two, {three: 3.0}]\n")))
	assert.Equal(t, 9090, port, "a quoted number is fine")
	assert.Equal(t, []string{"a"}, tags, "a sequence replaces the default")
	assert.Equal(t, map[string]time.Duration{"deploy": time.Hour, "restart": time.Minute}, limits, "a mapping merges into the default")
	assert.Equal(t, []any{1, "two", map[string]any{"three": 3.0}}, anyv)
}

func TestRegister(t *testing.T) {
	l := config.NewLoader()
	var s struct{ A string }
	require.NoError(t, l.Register("a", &s))
	assert.ErrorContains(t, l.Register("a", &s), `section "a" is registered twice`)
	assert.ErrorContains(t, l.Register("b", s), "non-nil pointer")
	assert.ErrorContains(t, l.Register("b", nil), "non-nil pointer")
	assert.ErrorContains(t, l.Register("b", (*int)(nil)), "non-nil pointer")
	assert.ErrorContains(t, l.Register("", &s), "invalid section name")
	assert.ErrorContains(t, l.Register("a.b", &s), "invalid section name")

	var bad struct {
		Hook func() `yaml:"hook"`
	}
	assert.ErrorContains(t, l.Register("c", &bad), "c.hook: unsupported type func()")
	var badMap map[int]string
	assert.ErrorContains(t, l.Register("d", &badMap), "map keys must be strings")
	var dupKey struct {
		A string `yaml:"x"`
		B string `yaml:"x"`
	}
	assert.ErrorContains(t, l.Register("e", &dupKey), `key "x" is used by two fields`)
	var badTag struct {
		A string `yaml:"a,required"`
	}
	assert.ErrorContains(t, l.Register("f", &badTag), `unsupported yaml tag option "required"`)
	var skipped struct {
		Hook func() `yaml:"-"`
		priv chan int
		Ok   string
	}
	assert.NoError(t, l.Register("g", &skipped))
	_ = skipped.priv
	assert.Equal(t, []string{"a", "g"}, l.Sections())
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	var name string
	l := config.NewLoader()
	require.NoError(t, l.Register("name", &name))

	err := l.LoadFile(path)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	require.NoError(t, os.WriteFile(path, []byte("name: x\nnmae: y\n"), 0o600))
	err = l.LoadFile(path)
	assert.EqualError(t, err, path+":2: nmae: unknown section (known: name)")

	require.NoError(t, os.WriteFile(path, []byte("name: x\n"), 0o600))
	require.NoError(t, l.LoadFile(path))
	assert.Equal(t, "x", name)
	assert.True(t, l.Present("name"))
}

func TestPresentResets(t *testing.T) {
	_, l, err := load(t, "bot: {}\n", nil)
	require.NoError(t, err)
	assert.True(t, l.Present("bot"))
	require.NoError(t, l.Load("opsbot.yaml", nil))
	assert.False(t, l.Present("bot"))
}

func TestBillionLaughs(t *testing.T) {
	var v any
	l := config.NewLoader()
	require.NoError(t, l.Register("v", &v))
	src := `
v:
  a: &a ["x","x","x","x","x","x","x","x","x"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
`
	start := time.Now()
	err := l.Load("x.yaml", []byte(src))
	assert.ErrorContains(t, err, "document too large")
	assert.Less(t, time.Since(start), 20*time.Second)
}

// A custom type may return FieldErrors from UnmarshalYAML; they are placed
// like a Validator's.
type pair struct{ A, B string }

func (p *pair) UnmarshalYAML(n *yaml.Node) error {
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return err
	}
	p.A, p.B = m["a"], m["b"]
	if p.B == "" {
		return config.Errorf("b", "is required")
	}
	return nil
}

func TestUnmarshalYAMLFieldErrors(t *testing.T) {
	var p struct {
		P pair `yaml:"p"`
	}
	l := config.NewLoader()
	require.NoError(t, l.Register("s", &p))
	err := l.Load("x.yaml", []byte("s:\n  p:\n    a: 1\n    b: ''\n"))
	assert.EqualError(t, err, "x.yaml:4: s.p.b: is required")
}

func TestErrorFormat(t *testing.T) {
	e := &config.Error{File: "opsbot.yaml", Line: 14, Path: "commands[2].timeout", Msg: `"5 minutes" is not a duration`}
	assert.Equal(t, `opsbot.yaml:14: commands[2].timeout: "5 minutes" is not a duration`, e.Error())
	assert.Equal(t, "opsbot.yaml: bad", (&config.Error{File: "opsbot.yaml", Msg: "bad"}).Error())
	errs := config.Errors{e, {File: "f", Line: 1, Msg: "m"}}
	assert.Equal(t, e.Error()+"\nf:1: m", errs.Error())
	assert.True(t, errors.Is(errs, e))
}

func TestPathHelpers(t *testing.T) {
	assert.Equal(t, "commands[2].timeout", config.Path("commands", 2, "timeout"))
	assert.Equal(t, "[2].argv[0]", config.Path(2, "argv", 0))
	assert.Equal(t, "hooks.github.secret", config.JoinPath("hooks", "github.secret"))
	assert.Equal(t, "commands[2].timeout", config.JoinPath("commands", "[2].timeout"))
	assert.Equal(t, "a", config.JoinPath("a", ""))
	assert.Equal(t, "b", config.JoinPath("", "b"))

	var errs config.FieldErrors
	assert.NoError(t, errs.Err())
	errs.Add("name", "is required")
	errs.Merge("rules[0]", config.Errorf("group", "unknown group %q", "ops"))
	errs.Merge("rules[1]", errors.New("plain"))
	errs.Merge("rules[2]", nil)
	errs.Merge("x", errors.Join(config.FieldError{Path: "a", Msg: "m1"}, &config.FieldError{Path: "[1]", Msg: "m2"}))
	assert.Equal(t, config.FieldErrors{
		{Path: "name", Msg: "is required"},
		{Path: "rules[0].group", Msg: `unknown group "ops"`},
		{Path: "rules[1]", Msg: "plain"},
		{Path: "x.a", Msg: "m1"},
		{Path: "x[1]", Msg: "m2"},
	}, errs)
	assert.Equal(t, "name: is required\nrules[0].group: unknown group \"ops\"\nrules[1]: plain\nx.a: m1\nx[1]: m2", errs.Error())
}
