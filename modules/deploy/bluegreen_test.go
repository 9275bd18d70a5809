package deploy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/deploy/deploytest"
	deploymod "github.com/opsbot/opsbot/modules/deploy"
)

// fakeFleet implements the fleet module's contract, as a module.
type fakeFleet struct {
	mu       sync.Mutex
	active   string
	switched []string
}

func (*fakeFleet) Name() string                { return "fleet" }
func (*fakeFleet) Provision(h *bot.Host) error { return nil }
func (f *fakeFleet) ActiveColour(ctx context.Context, app string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active, nil
}
func (f *fakeFleet) SwitchTo(ctx context.Context, app, colour, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.switched = append(f.switched, app+" "+colour+" "+by)
	f.active = colour
	return nil
}

func TestBlueGreenThroughTheFleetModule(t *testing.T) {
	repo := deploytest.NewRepo(t, alice)
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/green/health" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(health.Close)
	fl := &fakeFleet{active: "blue"}
	m := deploymod.New()
	m.CacheDir = t.TempDir()
	tb := bottest.New(t, bottest.Modules(fl, m), bottest.Config(`apps:
  api:
    git_url: `+repo.Dir+`
    provider: blue-green
    blue_green: {provider: shell, health_url: "`+health.URL+`/{colour}/health", health_interval: 10ms}
    shell: {command: ["sh", "-c", "echo deploying colour $DEPLOY_COLOUR"]}
    environments: {production: {}}
`))
	tb.User("alice", "admins")
	f := &fixture{Bot: tb}
	tb.Say("alice", "ops", "deploy api")
	d := f.waitStatus(idIn(t, f.post("alice is deploying api/main to production").Post.Text))
	require.Equal(t, deploy.StatusSuccess, d.Status, bottest.Texts(tb.Chat.All()))
	require.Equal(t, []string{"api green alice"}, fl.switched)
	log, err := tb.Store.JobLog(context.Background(), d.JobID)
	require.NoError(t, err)
	require.Contains(t, string(log), "deploying colour green")
	require.Contains(t, string(log), "blue is kept as it was for a rollback")
}
