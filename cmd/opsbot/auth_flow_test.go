package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// authConfig has an admin, a user in ops, and commands with and without
// confirmation; the secret comes from the environment.
const authConfig = `bot:
  confirm_timeout: 1s
users:
  - name: root
    groups: [admins]
    identities: [shell:root]
  - name: alice
    groups: [ops]
    identities: [shell:alice]
commands:
  - name: restart-web
    grammar: restart web {instance}
    argv: ["/bin/echo", "restarted", "{instance}"]
    permission: restart
  - name: drop-db
    grammar: drop database {db}
    argv: ["/bin/echo", "dropped", "{db}"]
    permission: drop
    confirm: always
  - name: show-token
    grammar: show token
    argv: ["/usr/bin/printenv", "API_TOKEN"]
    env:
      API_TOKEN: ${OPSBOT_TEST_SECRET}
    permission: restart
  - name: login
    grammar: login {password}
    argv: ["/bin/echo", "logged in with", "{password}"]
    secret: [password]
    permission: restart
  - name: fake-deploy
    grammar: deploy[:{task}][!] {app}[/{ref}] [to|in|on {env}[/{hosts}]]
    argv: ["/bin/echo", "deploy", "{app}", "{ref}", "{env}", "{hosts}", "{task}"]
    permission: deploy:{env}
`

const testSecret = "s3cr3t-config-value-8d1f"

type flow struct {
	t   *testing.T
	dir string
	env []string
}

func (f flow) shell(user, input string) result {
	f.t.Helper()
	r := opsbotEnv(f.t, f.dir, f.env, input, "shell", "--user", user)
	require.Equal(f.t, 0, r.code, r.stderr)
	return r
}

func TestPermissionsConfirmationsAndAuditFromTheShell(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), authConfig)
	f := flow{t: t, dir: dir, env: []string{"OPSBOT_TEST_SECRET=" + testSecret}}

	// A guest may run help, not a command with side effects.
	r := f.shell("stranger", "help\nrestart web w1\n")
	require.Contains(t, r.stdout, "Commands you may run")
	require.NotContains(t, r.stdout, "restart web", "help shows only what a guest may run")
	require.Contains(t, r.stdout, "you are a guest")

	// alice lacks the permission and is told which.
	r = f.shell("alice", "restart web w1\n")
	require.Contains(t, r.stdout, "needs the permission restart")

	// The admin grants it in chat; then it runs.
	r = f.shell("root", "auth add restart to ops\nauth add drop to ops\n")
	require.Contains(t, r.stdout, "Granted restart to group:ops")
	r = f.shell("alice", "restart web w1\n")
	require.Contains(t, r.stdout, "restarted w1")

	// confirm: always waits for "yes CODE" and runs after it.
	r = f.shell("alice", "drop database users\n")
	require.Contains(t, r.stdout, "needs confirmation")
	require.NotContains(t, r.stdout, "dropped users")
	code := regexp.MustCompile(`yes (\d{4})`).FindStringSubmatch(r.stdout)[1]
	r = f.shell("alice", "yes "+code+"\n")
	require.Contains(t, r.stdout, "dropped users")

	// Unanswered, it expires: the next start tells the room and nothing runs.
	r = f.shell("alice", "drop database orders\n")
	code = regexp.MustCompile(`yes (\d{4})`).FindStringSubmatch(r.stdout)[1]
	time.Sleep(1200 * time.Millisecond) // confirm_timeout is 1s of real time in this end-to-end run
	r = f.shell("alice", "yes "+code+"\n")
	require.Contains(t, r.stdout, "no open confirmation")
	require.Contains(t, r.stdout, "Confirmation "+code+" for drop database orders expired")
	require.NotContains(t, r.stdout, "dropped orders")

	// opsbot audit shows every one of those decisions.
	r = opsbotEnv(t, dir, f.env, "", "audit", "--json", "--limit", "100")
	require.Equal(t, 0, r.code, r.stderr)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var e struct{ User, Command, Decision, Outcome, Text string }
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		got = append(got, e.User+" "+e.Command+" "+e.Decision+" "+e.Outcome)
	}
	want := []string{
		"guest:shell:stranger help allowed ok",
		"guest:shell:stranger restart-web denied ",
		"alice restart-web denied ",
		"root auth.add allowed ok",
		"root auth.add allowed ok",
		"alice restart-web allowed ok",
		"alice drop-db confirmed ok",
		"alice drop-db expired ",
	}
	// newest first in the log
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	require.Equal(t, want, got)
	r = opsbotEnv(t, dir, f.env, "", "audit", "--user", "alice", "--command", "drop-db")
	require.Contains(t, r.stdout, "confirmed")
	require.Contains(t, r.stdout, "expired")
}

func TestExplainShowsEveryArgument(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), authConfig)
	env := []string{"OPSBOT_TEST_SECRET=" + testSecret}
	r := opsbotEnv(t, dir, env, "", "explain", "--user", "alice", "deploy:migrate! api/feature-x to staging/web1")
	require.Equal(t, 0, r.code, r.stderr)
	for _, want := range []string{
		"command: fake-deploy",
		`app = "api"`, `ref = "feature-x"`, `env = "staging"`, `hosts = "web1"`, `task = "migrate"`,
		"flags: ! / :",
		"permissions: deploy:staging",
		"may NOT run it",
	} {
		require.Contains(t, r.stdout, want)
	}
	r = opsbotEnv(t, dir, env, "", "explain", "--user", "root", "deploy api")
	require.Contains(t, r.stdout, "root may run it (member of admins)")
	r = opsbotEnv(t, dir, env, "", "explain", "deplyo api")
	require.Contains(t, r.stdout, "Did you mean `deploy`")
}

// TestSecretsNeverSurface runs commands that use a configured secret, a
// secret argument, a link code, a password and an API token, and checks the
// logs, the audit log and every reply.
func TestSecretsNeverSurface(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), authConfig+"log:\n  level: debug\nrules:\n  - permission: restart\n    users: [alice]\n")
	f := flow{t: t, dir: dir, env: []string{"OPSBOT_TEST_SECRET=" + testSecret}}
	const password = "correct-horse-battery-staple"
	const typed = "typed-in-chat-pw-4411"

	r := opsbotEnv(t, dir, f.env, password+"\n", "user", "add", "bob", "--password-stdin", "--group", "ops")
	require.Equal(t, 0, r.code, r.stderr)
	outputs := []string{r.stdout, r.stderr}
	r = opsbotEnv(t, dir, f.env, "", "user", "link-code", "bob")
	require.Equal(t, 0, r.code, r.stderr)
	linkCode := regexp.MustCompile(`link ([A-Z0-9]{10})`).FindStringSubmatch(r.stdout)[1]

	r = f.shell("alice", "show token\nlogin "+typed+"\nexplain login "+typed+"\n")
	outputs = append(outputs, r.stdout, r.stderr)
	require.Contains(t, r.stdout, "[redacted]", "the secret the script printed is masked")
	require.Contains(t, r.stdout, "logged in with [redacted]")

	r = f.shell("bob-elsewhere", "link "+linkCode+"\nwhoami\n")
	outputs = append(outputs, r.stdout, r.stderr)
	require.Contains(t, r.stdout, "You are bob")

	r = opsbotEnv(t, dir, f.env, "", "token", "create", "--name", "auditor", "--scope", "audit:read")
	require.Equal(t, 0, r.code, r.stderr)
	token := strings.TrimSpace(r.stdout)

	// serve, with the token used against the API; its log is kept.
	logPath := filepath.Join(dir, "serve.log")
	url := serveLogged(t, dir, f.env, logPath)
	code, body := get(t, url+"/api/v1/audit?limit=1000", token)
	require.Equal(t, http.StatusOK, code)
	outputs = append(outputs, body)
	code, _ = get(t, url+"/api/v1/audit", token+"x")
	require.Equal(t, http.StatusUnauthorized, code)

	r = opsbotEnv(t, dir, f.env, "", "audit", "--json", "--limit", "1000")
	outputs = append(outputs, r.stdout, r.stderr)
	require.Contains(t, r.stdout, "login [redacted]")
	require.Contains(t, r.stdout, "link [redacted]")

	serveLog, err := os.ReadFile(logPath)
	require.NoError(t, err)
	outputs = append(outputs, string(serveLog))

	all := strings.Join(outputs, "\n")
	for name, secret := range map[string]string{
		"configured secret": testSecret, "typed secret argument": typed, "link code": linkCode,
		"password": password, "API token": token,
	} {
		require.NotContains(t, all, secret, name+" leaked")
	}
	// the audit log itself, read straight from the store through the API above
	require.NotContains(t, body, testSecret)
}

// TestTokenBoundToAUser: `token create --user` checks the user exists and
// `token list` shows the binding.
func TestTokenBoundToAUser(t *testing.T) {
	dir := t.TempDir()
	r := opsbot(t, dir, "", "token", "create", "--name", "ci", "--scope", "deployments:write", "--user", "deploybot")
	require.NotEqual(t, 0, r.code, "no such user")
	require.Contains(t, r.stderr, `user "deploybot"`)
	r = opsbot(t, dir, "", "user", "add", "deploybot")
	require.Equal(t, 0, r.code, r.stderr)
	r = opsbot(t, dir, "", "token", "create", "--name", "ci", "--scope", "deployments:write", "--user", "deploybot")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "acting as deploybot")
	r = opsbot(t, dir, "", "token", "list")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `ci\s+deployments:write\s+deploybot\s`, r.stdout)
}
