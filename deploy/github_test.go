package deploy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/deploytest"
)

func TestGitHubClient(t *testing.T) {
	a := deploytest.Author{Name: "Alice", Email: "alice@example.com"}
	repo := deploytest.NewRepo(t, a)
	gh := deploytest.NewGitHub(t, repo, "acme/api", "good-token")
	ctx := context.Background()

	bad := deploy.NewGitHub(deploy.GitHub{Token: config.Secret("wrong-token"), APIURL: gh.URL()}, nil)
	_, err := bad.ResolveRef(ctx, "acme/api", "main")
	require.Equal(t, http.StatusUnauthorized, deploy.StatusOf(err))
	require.ErrorContains(t, err, "Bad credentials")
	require.NotContains(t, err.Error(), "wrong-token")

	c := deploy.NewGitHub(deploy.GitHub{Token: config.Secret("good-token"), APIURL: gh.URL()}, nil)
	head, err := c.ResolveRef(ctx, "acme/api", "main")
	require.NoError(t, err)
	require.Equal(t, repo.Head(), head)
	_, err = c.ResolveRef(ctx, "acme/api", "nope")
	require.ErrorIs(t, err, deploy.ErrUnknownRef)

	gh.SetStatus(head, "ci", "error")
	gh.SetCheckRun(head, "lint", "completed", "skipped")
	gh.SetCheckRun(head, "e2e", "completed", "timed_out")
	gh.SetCheckRun(head, "slow", "in_progress", "")
	checks, err := c.Checks(ctx, "acme/api", head)
	require.NoError(t, err)
	require.Equal(t, map[string]deploy.Check{
		"ci": {Name: "ci", State: "failure"}, "lint": {Name: "lint", State: "success"},
		"e2e": {Name: "e2e", State: "failure"}, "slow": {Name: "slow", State: "pending"},
	}, checks)

	d, err := c.CreateDeployment(ctx, "acme/api", deploy.DeploymentRequest{Ref: head, Environment: "staging", Task: "deploy"})
	require.NoError(t, err)
	require.Equal(t, head, d.SHA)
	require.NoError(t, c.CreateDeploymentStatus(ctx, "acme/api", d.ID, deploy.DeploymentStatus{State: "failure", Description: strings.Repeat("x", 300)}))
	got := gh.Deployments()[0].Statuses[0]
	require.Len(t, got.Description, 140, "descriptions are cut to GitHub's limit")
	_, err = c.CreateDeployment(ctx, "acme/api", deploy.DeploymentRequest{Ref: "nope", Environment: "staging"})
	require.Equal(t, http.StatusUnprocessableEntity, deploy.StatusOf(err))

	// Merges: nothing to merge is "", a conflict ErrMergeConflict.
	sha, err := c.Merge(ctx, "acme/api", "main", "main", "m")
	require.NoError(t, err)
	require.Empty(t, sha)
}
