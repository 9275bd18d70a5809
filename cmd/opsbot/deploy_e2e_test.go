package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/deploy/deploytest"
	"github.com/opsbot/opsbot/store/pgtest"
)

// deployHold is a deploy script that records its pid and then waits.
const deployHold = `#!/bin/sh
echo "deploying $BRANCH to $DEPLOY_ENV"
echo "$$" > "$PIDFILE"
exec sleep 60
`

// TestKillDuringADeploymentMarksItInterrupted: `deploy api to staging`
// from the shell runs the shell provider; opsbot is SIGKILLed while it
// runs; the next start stops the orphaned script, marks the deployment
// interrupted, tells the room and frees the slot.
func TestKillDuringADeploymentMarksItInterrupted(t *testing.T) {
	for _, db := range e2eDatabases {
		t.Run(db.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache")) // the git mirrors
			repo := deploytest.NewRepo(t, deploytest.Author{Name: "Alice", Email: "alice@example.com"})
			script := filepath.Join(dir, "deploy.sh")
			require.NoError(t, os.WriteFile(script, []byte(deployHold), 0o700))
			pidFile := filepath.Join(dir, "deploy.pid")
			e := e2e{dir: dir, config: filepath.Join(dir, "opsbot.yaml")}
			if db.pg {
				e.database = pgtest.Start(t)
			}
			writeFile(t, e.config, `users:
  - name: alice
    identities: [shell:alice]
  - name: bob
    identities: [shell:bob]
rules:
  - permission: "deploy:staging"
    users: [alice, bob]
apps:
  api:
    git_url: `+repo.Dir+`
    default_environment: staging
    shell:
      command: [`+script+`]
      env: {PIDFILE: `+pidFile+`}
    environments:
      staging: {}
      production: {}
`)
			s := e.start(t, "alice")
			s.say("deploy api to production")
			s.waitFor("deploy needs the permission deploy:production")
			s.say("deploy api to staging")
			id := s.waitFor(`alice is deploying api/main to staging \(#(\d+)\)`)[1]
			var pid []int
			deadline := time.Now().Add(15 * time.Second)
			for len(pid) == 0 {
				if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
					pid = readPidFile(t, pidFile)
				}
				require.True(t, time.Now().Before(deadline), "the deploy script did not start:\n%s", s.output())
				time.Sleep(10 * time.Millisecond)
			}
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
			<-s.done
			require.Error(t, s.cmd.Wait())
			require.NoError(t, syscall.Kill(pid[0], 0), "the script outlived opsbot")

			r := opsbot(t, dir, "deploys api\n", e.args("bob")...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stdout, "deployment #"+id+" (api/main to staging by alice) was interrupted: opsbot stopped while it ran")
			require.NotContains(t, r.stdout, "was interrupted by a restart", "one notice: the deployment's, not the job runner's too")
			require.Regexp(t, `#`+id+` api/main \([0-9a-f]{7}\) to staging by alice, .* ago: interrupted`, r.stdout)
			requireDead(t, pid[0])

			// The slot is free: bob deploys (and his shell's exit interrupts it).
			require.NoError(t, os.Remove(pidFile))
			r = opsbot(t, dir, "deploy api to staging\ndeploys api\n", e.args("bob")...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Regexp(t, `#2 api/main \([0-9a-f]{7}\) to staging by bob`, r.stdout)
			require.NotContains(t, r.stdout, "already deploying")
		})
	}
}

func TestAppsImportConvertsHubotDeploy(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "testdata", "hubot-apps.json"))
	require.NoError(t, err)
	writeFile(t, filepath.Join(dir, "apps.json"), string(data))
	r := opsbot(t, dir, "", "apps", "import", "apps.json")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "apps:\n")
	require.Contains(t, r.stdout, `heroku: {app: "my-orgs-hubot"`)
	require.Contains(t, r.stderr, `warning: www: notify_room has no opsbot equivalent`)
	// The output loads as part of a config.
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), r.stdout)
	r = opsbotEnv(t, dir, []string{"GITHUB_TOKEN=x", "HEROKU_API_KEY=y"}, "", "config", "check", "--config", "opsbot.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
}
