package scripts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
)

func TestParseTemplate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  template
		names []string
	}{
		{"plain", template{{lit: "plain"}}, nil},
		{"{user}", template{{name: "user"}}, []string{"user"}},
		{"--name={app}.{env}", template{{lit: "--name="}, {name: "app"}, {lit: "."}, {name: "env"}}, []string{"app", "env"}},
		{`{"a": "{v}"}`, template{{lit: `{"a": "`}, {name: "v"}, {lit: `"}`}}, []string{"v"}},
		{"{{user}", template{{lit: "{user}"}}, nil},
		{"{not a name} {1x} {} {", template{{lit: "{not a name} {1x} {} {"}}, nil},
		{"{with-dash_and9}", template{{name: "with-dash_and9"}}, []string{"with-dash_and9"}},
		{"", nil, nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := parseTemplate(tc.in)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.names, got.names())
		})
	}
}

// injections are values a chat user might send to break out of an argument.
var injections = []string{
	"; rm -rf /",
	"$(touch PWNED)",
	"`touch PWNED`",
	`"double" 'single' \"escaped\"`,
	"first line\nsecond line; touch PWNED",
	"--flag=x",
	"-rf",
	"a b  c",
	"* ? [x]",
	"~ $HOME ${HOME}",
	"| touch PWNED && touch PWNED || true &",
	"> PWNED < /etc/passwd",
	"\\ back\\slash",
	"{user}",
}

func TestExpandArgvInjection(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "PWNED")
	tmpls := []template{parseTemplate("./argv.sh"), parseTemplate("{v}"), parseTemplate("--value={v}"), parseTemplate("{user}")}
	for _, inj := range injections {
		t.Run(inj, func(t *testing.T) {
			v := strings.ReplaceAll(inj, "PWNED", pwned)
			argv := expandArgv(tmpls, map[string]string{"v": v, "user": "alice"})
			require.Equal(t, []string{"./argv.sh", v, "--value=" + v, "alice"}, argv)

			// And a real program receives exactly these, each one whole.
			got := runArgv(t, argv[1:]...)
			require.Equal(t, argv[1:], got)
			require.NoFileExists(t, pwned)
		})
	}
}

// runArgv runs testdata/argv.sh with args and returns the arguments it saw.
func runArgv(t *testing.T, args ...string) []string {
	t.Helper()
	var out strings.Builder
	p := process{argv: append([]string{"./argv.sh"}, args...), dir: testdata(t), env: []string{"PATH=" + os.Getenv("PATH")},
		timeout: DefaultTimeout, grace: DefaultKillGrace, clock: clock.Real{}}
	o, err := p.run(context.Background(), func(b []byte) { out.Write(b) })
	require.NoError(t, err)
	require.Equal(t, 0, o.exitCode)
	return parseArgvOutput(out.String())
}

// parseArgvOutput reads what testdata/argv.sh printed.
func parseArgvOutput(s string) []string {
	parts := strings.Split(s, "---ARG---\n")
	var got []string
	for _, p := range parts[1:] {
		got = append(got, strings.TrimSuffix(p, "\n"))
	}
	return got
}

func testdata(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	require.NoError(t, err)
	return dir
}

func TestExpandArgvDropsAbsentOptional(t *testing.T) {
	tmpls := []template{parseTemplate("prog"), parseTemplate("{env}"), parseTemplate("--env={env}"), parseTemplate("{app}")}
	require.Equal(t, []string{"prog", "--env=", "api"}, expandArgv(tmpls, map[string]string{"app": "api"}))
	require.Equal(t, []string{"prog", "prod", "--env=prod", "api"}, expandArgv(tmpls, map[string]string{"app": "api", "env": "prod"}))
}

func TestExpandURL(t *testing.T) {
	tmpl := parseTemplate("https://api.example.com/v1/{app}/deploys?env={env}&ref={ref}#{frag}")
	got := expandURL(tmpl, map[string]string{
		"app": "../admin/x?y", "env": "prod&admin=1", "ref": "a b/c", "frag": "x y",
	})
	require.Equal(t, "https://api.example.com/v1/..%2Fadmin%2Fx%3Fy/deploys?env=prod%26admin%3D1&ref=a+b%2Fc#x+y", got)
}

func TestBodyEscaping(t *testing.T) {
	v := "he said \"hi\"\n\\ & = </script>"
	for _, tc := range []struct {
		ct, body, want string
	}{
		{"application/json", `{"msg": "{v}"}`, `{"msg": "he said \"hi\"\n\\ \u0026 = \u003c/script\u003e"}`},
		{"application/x-www-form-urlencoded", "msg={v}", "msg=he+said+%22hi%22%0A%5C+%26+%3D+%3C%2Fscript%3E"},
		{"text/plain", "msg: {v}", "msg: " + v},
	} {
		t.Run(tc.ct, func(t *testing.T) {
			require.Equal(t, tc.want, parseTemplate(tc.body).expand(map[string]string{"v": v}, bodyEscaper(tc.ct)))
		})
	}
}
