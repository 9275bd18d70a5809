package kubernetes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/deploy/provider"
)

// standIn is a kubectl that records its arguments, one call per line, and
// prints what kubectl prints; `rollout status` fails when $DIR/fail exists.
const standIn = `#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
case "$*" in
  *"set image"*) echo "deployment.apps/api image updated" ;;
  *"rollout restart"*) echo "deployment.apps/api restarted" ;;
  *"rollout status"*)
    echo 'Waiting for deployment "api" rollout to finish: 1 of 3 updated replicas are available...'
    if [ -f "$(dirname "$0")/fail" ]; then echo 'error: deployment "api" exceeded its progress deadline' >&2; exit 1; fi
    echo 'deployment "api" successfully rolled out' ;;
esac
`

func setup(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kubectl"), []byte(standIn), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func calls(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "calls"))
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestSetImageAndWaitForTheRollout(t *testing.T) {
	dir := setup(t)
	p, err := New(Config{Context: "prod", Namespace: "web", Deployment: "api", Image: "registry.example.com/api:{short_sha}"})
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, p.Deploy(context.Background(), provider.Request{SHA: "abcdef0123456789", Ref: "main", Env: "production"}, &out))
	require.Equal(t, []string{
		"--context prod --namespace web set image deployment/api api=registry.example.com/api:abcdef0",
		"--context prod --namespace web rollout status deployment/api --timeout=10m0s",
	}, calls(t, dir))
	require.Contains(t, out.String(), `deployment "api" successfully rolled out`)
}

func TestRolloutRestartAndFailure(t *testing.T) {
	dir := setup(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fail"), nil, 0o644))
	p, err := New(Config{Deployment: "api"})
	require.NoError(t, err)
	var out strings.Builder
	err = p.Deploy(context.Background(), provider.Request{SHA: "abc"}, &out)
	var exit *provider.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 1, exit.Code)
	require.Equal(t, []string{"rollout restart deployment/api", "rollout status deployment/api --timeout=10m0s"}, calls(t, dir))
	require.Contains(t, out.String(), "exceeded its progress deadline")
}

func TestRefusesBadNames(t *testing.T) {
	_, err := New(Config{Deployment: "API; rm -rf /"})
	require.ErrorContains(t, err, "not a Kubernetes name")
	p, _ := New(Config{Deployment: "api", Image: "r/api:{ref}"})
	_, err = p.Image(provider.Request{Ref: "x;y"})
	require.Error(t, err)
}

func TestColourInTheDeploymentName(t *testing.T) {
	dir := setup(t)
	p, err := New(Config{Deployment: "shop-{colour}", Container: "shop", Image: "r/shop:{sha}"})
	require.NoError(t, err)
	require.NoError(t, p.Deploy(context.Background(), provider.Request{SHA: "abc", Extra: map[string]string{"DEPLOY_COLOUR": "green"}}, &strings.Builder{}))
	require.Equal(t, []string{"set image deployment/shop-green shop=r/shop:abc", "rollout status deployment/shop-green --timeout=10m0s"}, calls(t, dir))
	require.ErrorContains(t, p.Deploy(context.Background(), provider.Request{SHA: "abc"}, &strings.Builder{}), "is not a colour")
}
