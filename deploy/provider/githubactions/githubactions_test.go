package githubactions_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/deploytest"
	"github.com/opsbot/opsbot/deploy/provider"
	"github.com/opsbot/opsbot/deploy/provider/githubactions"
)

type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func setup(t *testing.T) (*deploytest.GitHub, *githubactions.Provider, string) {
	repo := deploytest.NewRepo(t, deploytest.Author{Name: "Alice", Email: "alice@example.com"})
	gh := deploytest.NewGitHub(t, repo, "acme/api", "tok-1")
	sha := repo.Head()
	gh.OnDispatch = func(d deploytest.Dispatch) { gh.AddRun(d.Workflow, d.Ref, sha, "workflow_dispatch") }
	client := deploy.NewGitHub(deploy.GitHub{Token: config.Secret("tok-1"), APIURL: gh.URL()}, nil)
	p, err := githubactions.New(githubactions.Config{Workflow: "deploy.yml", Inputs: map[string]string{"notify": "yes"}, PollInterval: 5 * time.Millisecond}, client, "acme/api")
	require.NoError(t, err)
	return gh, p, sha
}

func TestDispatchAndFollowTheRun(t *testing.T) {
	for _, tc := range []struct {
		conclusion string
		wantErr    string
	}{{"success", ""}, {"failure", "concluded failure"}} {
		t.Run(tc.conclusion, func(t *testing.T) {
			gh, p, sha := setup(t)
			out := &syncBuilder{}
			done := make(chan error, 1)
			go func() {
				done <- p.Deploy(context.Background(), provider.Request{ID: 9, App: "api", Env: "staging", Ref: "main", SHA: sha, Task: "deploy", User: "alice"}, out)
			}()
			require.Eventually(t, func() bool { return strings.Contains(out.String(), "is queued") }, 5*time.Second, 5*time.Millisecond)
			d := gh.Dispatches()
			require.Len(t, d, 1)
			require.Equal(t, "main", d[0].Ref)
			require.Equal(t, "staging", d[0].Inputs["environment"])
			require.Equal(t, "9", d[0].Inputs["deployment_id"])
			require.Equal(t, "yes", d[0].Inputs["notify"])
			id := runID(t, out.String())
			gh.SetRun(id, "in_progress", "")
			require.Eventually(t, func() bool { return strings.Contains(out.String(), "is in_progress") }, 5*time.Second, 5*time.Millisecond)
			gh.SetRun(id, "completed", tc.conclusion)
			err := <-done
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
		})
	}
}

func runID(t *testing.T, out string) int64 {
	for _, l := range strings.Split(out, "\n") {
		var id int64
		var url string
		if n, _ := sscan(l, &id, &url); n == 2 {
			return id
		}
	}
	t.Fatalf("no run in %q", out)
	return 0
}

func sscan(l string, id *int64, url *string) (int, error) {
	if !strings.HasPrefix(l, "github-actions: run ") || strings.Contains(l, " is ") {
		return 0, nil
	}
	f := strings.Fields(strings.TrimPrefix(l, "github-actions: run "))
	if len(f) != 2 {
		return 0, nil
	}
	var n int64
	for _, c := range f[0] {
		n = n*10 + int64(c-'0')
	}
	*id, *url = n, f[1]
	return 2, nil
}

func TestBadWorkflowIsAnError(t *testing.T) {
	_, err := githubactions.New(githubactions.Config{}, nil, "")
	require.ErrorContains(t, err, "workflow is required")
	gh, p, _ := setup(t)
	_ = gh
	err = p.Deploy(context.Background(), provider.Request{Ref: "nope"}, &syncBuilder{})
	require.ErrorContains(t, err, "No ref found for: nope")
}
