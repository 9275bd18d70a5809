package shell

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy/provider"
)

func TestRunsWithTheDeploymentInItsEnvironmentAndArguments(t *testing.T) {
	t.Setenv("OPSBOT_SECRET_OF_ITS_OWN", "leak")
	p, err := New(Config{Command: []string{"sh", "-c", `echo "args: $0 $1"; echo "BRANCH=$BRANCH SHA=$SHA DEPLOY_ENV=$DEPLOY_ENV DEPLOY_TASK=$DEPLOY_TASK DEPLOY_HOSTS=$DEPLOY_HOSTS TOKEN=$TOKEN OWN=$OPSBOT_SECRET_OF_ITS_OWN"`, "{env}", "{ref};rm -rf /"},
		Env: map[string]config.Secret{"TOKEN": "t0k"}})
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, p.Deploy(context.Background(), provider.Request{Ref: "main", SHA: "abc", Env: "staging", Task: "migrate", Hosts: "web1"}, &out))
	require.Contains(t, out.String(), "args: staging main;rm -rf /\n", "placeholders fill one argument each; nothing is run by a shell")
	require.Contains(t, out.String(), "BRANCH=main SHA=abc DEPLOY_ENV=staging DEPLOY_TASK=migrate DEPLOY_HOSTS=web1 TOKEN=t0k OWN=\n")
}

func TestFailureTimeoutAndCheckoutDir(t *testing.T) {
	p, _ := New(Config{Command: []string{"sh", "-c", "exit 4"}})
	var exit *provider.ExitError
	require.ErrorAs(t, p.Deploy(context.Background(), provider.Request{}, &strings.Builder{}), &exit)
	require.Equal(t, 4, exit.Code)

	p, _ = New(Config{Command: []string{"sleep", "30"}, KillGrace: time.Second})
	start := time.Now()
	err := provider.Run(context.Background(), p, provider.Request{}, &strings.Builder{}, 100*time.Millisecond)
	require.True(t, errors.Is(err, provider.ErrTimeout), "%v", err)
	require.Less(t, time.Since(start), 10*time.Second)

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "script"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "script", "deploy"), []byte("#!/bin/sh\necho in repo $PWD\n"), 0o755))
	p, _ = New(Config{Command: []string{"script/deploy"}})
	var out strings.Builder
	require.NoError(t, p.Deploy(context.Background(), provider.Request{Dir: dir}, &out))
	require.Contains(t, out.String(), "in repo "+dir)

	_, err = New(Config{})
	require.ErrorContains(t, err, "shell.command")
}
