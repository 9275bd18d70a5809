package scripts

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/config"
)

// load decodes a commands section through the real config loader.
func load(t *testing.T, yaml string, env map[string]string) (Commands, error) {
	t.Helper()
	m := New()
	l := config.NewLoader(config.WithEnv(env))
	name, target := m.ConfigSection()
	require.Equal(t, "commands", name)
	require.NoError(t, l.Register(name, target))
	err := l.Load("opsbot.yaml", []byte(yaml))
	return m.cfg, err
}

func TestConfigDecodes(t *testing.T) {
	cmds, err := load(t, `
commands:
  - name: refresh-toy-db
    grammar: "refresh toy db [for {who:user}]"
    help: refresh your toy database
    argv: ["./scripts/refresh-toy-db.sh", "{user}", "--for={who}"]
    dir: testdata
    env:
      TOY_DB_TOKEN: ${TOY_DB_TOKEN}
    timeout: 10m
    output: {max_bytes: 4096, as: text}
    confirm: {when: {who: [bob, carol]}}
    concurrency: 2
    background: true
    resumable: true
    reply: {room: "#data"}
    stream_interval: 5s
  - name: status
    grammar: status {app}
    http:
      url: https://status.example.com/api/{app}
      headers: {Authorization: "Bearer ${STATUS_TOKEN}"}
    side_effects: false
    confirm: always
    reply: thread
`, map[string]string{"TOY_DB_TOKEN": "toy-secret", "STATUS_TOKEN": "status-secret"})
	// refresh-toy-db.sh is not in testdata: the only problem is that.
	require.Error(t, err)
	require.Equal(t, `opsbot.yaml:6: commands[0].argv[0]: `+testdataRel("scripts/refresh-toy-db.sh")+` does not exist`, err.Error())
	require.Len(t, cmds, 2)
	c := cmds[0]
	require.Equal(t, config.Secret("toy-secret"), c.Env["TOY_DB_TOKEN"])
	require.Equal(t, 10*time.Minute, c.Timeout)
	require.Equal(t, Output{MaxBytes: 4096, As: "text"}, c.Output)
	require.Equal(t, Confirm{Mode: "when", When: map[string][]string{"who": {"bob", "carol"}}}, c.Confirm)
	require.Equal(t, Reply{Mode: "other", Room: "#data"}, c.Reply)
	require.True(t, c.Confirm.policy().Needed(command.Args{"who": "Bob"}))
	require.False(t, c.Confirm.policy().Needed(command.Args{"who": "alice"}))
	s := cmds[1]
	require.Equal(t, Confirm{Mode: "always"}, s.Confirm)
	require.Equal(t, Reply{Mode: "thread"}, s.Reply)
	require.Equal(t, config.Secret("Bearer status-secret"), s.HTTP.Headers["Authorization"])
	require.False(t, *s.SideEffects)
	d := s.withDefaults()
	require.Equal(t, DefaultTimeout, d.Timeout)
	require.Equal(t, "status", d.Permission)
	require.Equal(t, "GET", d.HTTP.method())
}

func testdataRel(p string) string { return "testdata/" + p }

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"required", `
commands:
  - help: nothing else
`, []string{
			"opsbot.yaml:3: commands[0]: give argv (a program to run) or http (a request to send)",
			"opsbot.yaml:3: commands[0].grammar: is required",
			"opsbot.yaml:3: commands[0].name: is required",
		}},
		{"undecodable values", `
commands:
  - name: t
    grammar: t
    argv: [echo]
    timeout: 5 minutes
    confirm: {whenever: x}
    reply: sideways
`, []string{
			// A value that fails to decode is not validated further.
			`opsbot.yaml:6: commands[0].timeout: "5 minutes" is not a duration`,
			`opsbot.yaml:7: commands[0].confirm.whenever: unknown key (want always, never or {when: {ARG: [VALUES]}})`,
			`opsbot.yaml:8: commands[0].reply: want room, thread or {room: NAME}, not "sideways"`,
		}},
		{"bad values", `
commands:
  - name: ok
    grammar: ok
    argv: [echo]
  - name: Bad Name
    grammar: "bad [unclosed"
    argv: ["echo"]
  - name: t
    grammar: t {user}
    argv: ["{prog}", x]
    output: {as: html, max_bytes: -1}
    concurrency: -2
    resumable: true
    stream_interval: 10ms
    env: {"BAD-NAME": x, OPSBOT_X: y}
`, []string{
			`opsbot.yaml:6: commands[1].name: "Bad Name": use lower-case letters, digits, '.', '_' and '-'`,
			`opsbot.yaml:7: commands[1].grammar: `,
			`opsbot.yaml:10: commands[2].grammar: argument {user} hides the built-in {user} placeholder; give it another name`,
			`opsbot.yaml:11: commands[2].argv[0]: the program must be fixed: no placeholders in argv[0]`,
			`opsbot.yaml:12: commands[2].output.as: "html": want code or text`,
			`opsbot.yaml:12: commands[2].output.max_bytes: must not be negative`,
			`opsbot.yaml:13: commands[2].concurrency: must not be negative`,
			`opsbot.yaml:14: commands[2].resumable: only a background command can be resumable`,
			`opsbot.yaml:15: commands[2].stream_interval: must be at least 500ms`,
			`opsbot.yaml:16: commands[2].env.BAD-NAME: is not a valid environment variable name`,
			`opsbot.yaml:16: commands[2].env.OPSBOT_X: OPSBOT_ variables are set by opsbot`,
		}},
		{"duplicates and placeholders", `
commands:
  - name: a
    grammar: a {x}
    argv: [echo, "{x}", "{user}", "{room}", "{job}", "{y}"]
  - name: a
    grammar: b
    http: {url: "https://{host}/x"}
  - name: c
    grammar: c {v}
    http: {url: "ftp://example.com/{v}", body: "{w}", headers: {"Bad Header": x}}
  - name: d
    grammar: d {v}
    argv: [echo]
    confirm: {when: {w: [1]}}
`, []string{
			`commands[0].argv[5]: unknown placeholder {y}`,
			`commands[1].name: "a" is also the name of commands[0]`,
			`commands[1].http.url: the host must be fixed: no placeholders before the path`,
			`commands[2].http.url: must start with http:// or https://`,
			`commands[2].http.body: unknown placeholder {w}`,
			`commands[2].http.headers.Bad Header: is not a valid header name`,
			`commands[3].confirm.when.w: is not an argument of the grammar`,
		}},
		{"both argv and http", `
commands:
  - name: a
    grammar: a
    argv: [echo]
    http: {url: "https://example.com"}
    dir: /nonexistent/dir
`, []string{
			`commands[0]: give argv or http, not both`,
			`commands[0].dir: /nonexistent/dir does not exist`,
		}},
		{"missing program", `
commands:
  - name: a
    grammar: a
    argv: [no-such-program-opsbot]
`, []string{`commands[0].argv[0]: no-such-program-opsbot is not found in PATH`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.yaml, nil)
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			require.Len(t, strings.Split(err.Error(), "\n"), len(tc.want), "all problems:\n%s", err)
		})
	}
}

// TestExampleConfig loads examples/commands.yaml, uncommented: the only
// problems are the programs and directories this machine doesn't have.
func TestExampleConfig(t *testing.T) {
	raw, err := os.ReadFile("../../examples/commands.yaml")
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(l, "# "); ok && (strings.HasPrefix(rest, "commands:") || strings.HasPrefix(rest, " ")) {
			lines = append(lines, rest)
		}
	}
	cmds, err := load(t, strings.Join(lines, "\n"), map[string]string{
		"TOY_DB_TOKEN": "t", "WAREHOUSE_DSN": "w", "CI_TOKEN": "c",
	})
	require.Len(t, cmds, 5)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			require.Regexp(t, `(does not exist|is not found in PATH)$`, line)
		}
	}
	require.Equal(t, "ci-rerun", cmds[3].Name)
	require.Equal(t, Confirm{Mode: "always"}, cmds[3].Confirm)
	require.Equal(t, []string{"key"}, cmds[4].Secret)
}
