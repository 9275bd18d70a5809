package bluegreen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/deploy/provider"
)

// fakeFleet implements the fleet module's contract.
type fakeFleet struct {
	mu       sync.Mutex
	active   string
	switches []string
	refuse   error
}

func (f *fakeFleet) ActiveColour(ctx context.Context, app string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active, nil
}

func (f *fakeFleet) SwitchTo(ctx context.Context, app, colour, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	f.switches = append(f.switches, app+"→"+colour+" by "+by)
	f.active = colour
	return nil
}

// recorder is a provider that records the colour it was asked to deploy.
type recorder struct {
	colours []string
	err     error
}

func (*recorder) Name() string { return "shell" }

func (r *recorder) Deploy(ctx context.Context, req provider.Request, out io.Writer) error {
	r.colours = append(r.colours, req.Extra["DEPLOY_COLOUR"])
	for _, kv := range req.Environ() {
		if strings.HasPrefix(kv, "DEPLOY_COLOUR=") {
			io.WriteString(out, kv+"\n")
		}
	}
	return r.err
}

func health(t *testing.T, healthy map[string]bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if healthy[strings.TrimPrefix(r.URL.Path, "/")] {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/{colour}"
}

func TestDeploysTheInactiveColourThenSwitches(t *testing.T) {
	fl := &fakeFleet{active: "blue"}
	inner := &recorder{}
	p, err := New(Config{Provider: "shell", HealthURL: health(t, map[string]bool{"green": true}), HealthInterval: time.Millisecond}, inner, fl, nil)
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, p.Deploy(context.Background(), provider.Request{App: "api", User: "alice"}, &out))
	require.Equal(t, []string{"green"}, inner.colours)
	require.Equal(t, []string{"api→green by alice"}, fl.switches)
	require.Contains(t, out.String(), "DEPLOY_COLOUR=green")
	require.Contains(t, out.String(), "blue is kept as it was for a rollback")
}

func TestUnhealthyOrRefusedKeepsTraffic(t *testing.T) {
	fl := &fakeFleet{active: "green"}
	p, err := New(Config{Provider: "shell", HealthURL: health(t, map[string]bool{}), HealthTimeout: 30 * time.Millisecond, HealthInterval: time.Millisecond}, &recorder{}, fl, nil)
	require.NoError(t, err)
	err = p.Deploy(context.Background(), provider.Request{App: "api"}, io.Discard)
	require.ErrorContains(t, err, "blue is not healthy")
	require.ErrorContains(t, err, "traffic stays on green")
	require.Empty(t, fl.switches)

	fl.refuse = errors.New("blue has 1 of 3 instances healthy")
	p, _ = New(Config{Provider: "shell", HealthURL: health(t, map[string]bool{"blue": true})}, &recorder{}, fl, nil)
	require.ErrorContains(t, p.Deploy(context.Background(), provider.Request{App: "api"}, io.Discard), "switching to blue: blue has 1 of 3 instances healthy")

	p, _ = New(Config{Provider: "shell", HealthURL: "x"}, &recorder{err: errors.New("exit 1")}, &fakeFleet{active: "blue"}, nil)
	require.ErrorContains(t, p.Deploy(context.Background(), provider.Request{}, io.Discard), "deploying green: exit 1 (traffic stays on blue)")

	p, _ = New(Config{Provider: "shell", HealthURL: "x"}, &recorder{}, nil, nil)
	require.ErrorContains(t, p.Deploy(context.Background(), provider.Request{}, io.Discard), "needs the fleet module")
}
