package jenkins

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy/provider"
)

// fakeJenkins follows Jenkins' remote access API: the crumb issuer,
// buildWithParameters answering 201 with the queue item in Location, the
// queue item's executable once the build starts, the build's
// logText/progressiveText (X-Text-Size, X-More-Data) and its api/json.
type fakeJenkins struct {
	*httptest.Server
	mu       sync.Mutex
	params   map[string][]string
	polls    int
	console  []string // chunks served one per progressiveText call
	served   int
	result   string
	stopped  bool
	crumbSet bool
	hold     chan struct{} // when set, the console has more data until closed
}

func newFake(t *testing.T) *fakeJenkins {
	f := &fakeJenkins{result: "SUCCESS", console: []string{"Started by remote host\n", "deploying...\n", "Finished: SUCCESS\n"}}
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "opsbot" || p != "apitoken-1" {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /crumbIssuer/api/json", auth(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"_class":"hudson.security.csrf.DefaultCrumbIssuer","crumb":"c0ffee","crumbRequestField":"Jenkins-Crumb"}`)
	}))
	mux.HandleFunc("POST /job/deploy-api/buildWithParameters", auth(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Jenkins-Crumb") != "c0ffee" {
			http.Error(w, "No valid crumb was included in the request", http.StatusForbidden)
			return
		}
		if r.URL.Query().Get("token") != "buildtoken-1" {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		f.mu.Lock()
		f.params = r.URL.Query()
		f.crumbSet = true
		f.mu.Unlock()
		w.Header().Set("Location", f.URL+"/queue/item/17/")
		w.WriteHeader(http.StatusCreated)
	}))
	mux.HandleFunc("GET /queue/item/17/api/json", auth(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.polls++
		n := f.polls
		f.mu.Unlock()
		if n < 2 {
			fmt.Fprint(w, `{"_class":"hudson.model.Queue$WaitingItem","id":17,"blocked":false,"buildable":false,"why":"In the quiet period."}`)
			return
		}
		fmt.Fprintf(w, `{"_class":"hudson.model.Queue$LeftItem","id":17,"cancelled":false,"executable":{"_class":"hudson.model.FreeStyleBuild","number":42,"url":"%s/job/deploy-api/42/"}}`, f.URL)
	}))
	mux.HandleFunc("GET /job/deploy-api/42/logText/progressiveText", auth(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		chunk := ""
		if f.served < len(f.console) {
			chunk = f.console[f.served]
			f.served++
		}
		more := f.served < len(f.console)
		hold := f.hold
		f.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			default:
				more = true
			}
		}
		w.Header().Set("X-Text-Size", strconv.Itoa(start+len(chunk)))
		if more {
			w.Header().Set("X-More-Data", "true")
		}
		fmt.Fprint(w, chunk)
	}))
	mux.HandleFunc("GET /job/deploy-api/42/api/json", auth(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		fmt.Fprintf(w, `{"_class":"hudson.model.FreeStyleBuild","building":false,"number":42,"result":%q}`, f.result)
	}))
	mux.HandleFunc("POST /job/deploy-api/42/stop", auth(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.stopped = true
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func newProvider(t *testing.T, f *fakeJenkins) *Provider {
	p, err := New(Config{URL: f.URL, Job: "deploy-api", User: "opsbot", APIToken: config.Secret("apitoken-1"),
		BuildToken: config.Secret("buildtoken-1"), Parameters: map[string]string{"SLACK": "no"}, PollInterval: 5 * time.Millisecond}, nil)
	require.NoError(t, err)
	return p
}

var req = provider.Request{ID: 7, App: "api", Env: "production", Ref: "main", SHA: "abc123", Task: "deploy", User: "alice"}

func TestDeployFollowsTheBuild(t *testing.T) {
	f := newFake(t)
	var out strings.Builder
	require.NoError(t, newProvider(t, f).Deploy(context.Background(), req, &out))
	require.Contains(t, out.String(), "Started by remote host\ndeploying...\nFinished: SUCCESS\n")
	require.Contains(t, out.String(), "jenkins: build "+f.URL+"/job/deploy-api/42/")
	require.NotContains(t, out.String(), "buildtoken-1")
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Equal(t, "main", f.params["BRANCH"][0])
	require.Equal(t, "abc123", f.params["SHA"][0])
	require.Equal(t, "production", f.params["DEPLOY_ENV"][0])
	require.Equal(t, "no", f.params["SLACK"][0])
	require.GreaterOrEqual(t, f.polls, 2, "the queue item is followed until it has a build")
}

func TestFailedBuildIsAnError(t *testing.T) {
	f := newFake(t)
	f.result = "FAILURE"
	err := newProvider(t, f).Deploy(context.Background(), req, &strings.Builder{})
	require.ErrorContains(t, err, "ended FAILURE")
}

func TestCancelStopsTheBuild(t *testing.T) {
	f := newFake(t)
	f.hold = make(chan struct{})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	out := &syncBuilder{}
	go func() { done <- newProvider(t, f).Deploy(ctx, req, out) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Finished") }, 5*time.Second, 5*time.Millisecond)
	cancel(errors.New("cancelled by alice"))
	require.ErrorContains(t, <-done, "cancelled by alice")
	f.mu.Lock()
	defer f.mu.Unlock()
	require.True(t, f.stopped, "the build was stopped")
}

func TestTimeout(t *testing.T) {
	f := newFake(t)
	f.hold = make(chan struct{})
	err := provider.Run(context.Background(), newProvider(t, f), req, &syncBuilder{}, 50*time.Millisecond)
	require.ErrorIs(t, err, provider.ErrTimeout)
}

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
