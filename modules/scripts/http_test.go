package scripts

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// recorded is a request the test server saw.
type recorded struct {
	Method, Path, RawQuery, Body string
	Header                       http.Header
}

func TestHTTPAction(t *testing.T) {
	var mu sync.Mutex
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(body), r.Header.Clone()})
		mu.Unlock()
		if strings.Contains(r.URL.Path, "broken") {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "it broke")
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"queued"}`)
	}))
	defer srv.Close()

	m := &Module{clock: clock.Real{}, client: srv.Client()}
	d := newDef(Command{Name: "sync", Grammar: "sync {app} [to {env}]", HTTP: &HTTPAction{
		URL:     srv.URL + "/v1/apps/{app}/sync?env={env}&by={user}",
		Headers: map[string]config.Secret{"Authorization": "Bearer t0ken-xyz", "X-Requested-By": "opsbot {user}"},
		Body:    `{"app": "{app}", "note": "{note}"}`,
	}}.withDefaults())
	inj := `"; DROP TABLE x; --` + "\n{user}"
	inv, err := m.invocation(d, map[string]string{"app": "api/../admin", "env": "prod&x=1", "note": inj}, "alice", room, 7)
	require.NoError(t, err)
	require.Contains(t, inv.describe(d), "POST "+srv.URL+"/v1/apps/api%2F..%2Fadmin/sync?env=prod%26x%3D1&by=alice")
	require.Contains(t, inv.describe(d), "Authorization: [hidden]")
	require.NotContains(t, inv.describe(d), "t0ken")

	out := newOutput("")
	o, err := inv.req.send(context.Background(), out.write)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, o.exitCode)
	require.Equal(t, `{"status":"queued"}`, out.String())
	require.Len(t, got, 1)
	r := got[0]
	require.Equal(t, "POST", r.Method)
	require.Equal(t, "/v1/apps/api%2F..%2Fadmin/sync", r.Path)
	require.Equal(t, "env=prod%26x%3D1&by=alice", r.RawQuery)
	require.Equal(t, "Bearer t0ken-xyz", r.Header.Get("Authorization"))
	require.Equal(t, "opsbot alice", r.Header.Get("X-Requested-By"))
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.JSONEq(t, `{"app": "api/../admin", "note": "\"; DROP TABLE x; --\n{user}"}`, r.Body)

	res := &result{o: o, tail: &tail{max: 100}, http: true}
	_, _ = res.tail.Write([]byte(out.String()))
	require.True(t, res.ok())
	require.Contains(t, res.verdict(d), "(HTTP 202)")

	// A failing status fails the command.
	d2 := newDef(Command{Name: "broken", Grammar: "broken", HTTP: &HTTPAction{Method: "put", URL: srv.URL + "/broken"}}.withDefaults())
	inv, err = m.invocation(d2, nil, "alice", room, 8)
	require.NoError(t, err)
	out = newOutput("")
	o, err = inv.req.send(context.Background(), out.write)
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, o.exitCode)
	require.Equal(t, "PUT", got[1].Method)
	res = &result{o: o, tail: &tail{max: 100}, http: true}
	require.False(t, res.ok())
	require.EqualError(t, res.jobErr(context.Background(), d2), "HTTP 500")

	// A header value can't smuggle in another header.
	_, err = m.invocation(d, map[string]string{"app": "a"}, "alice\r\nX-Evil: 1", room, 9)
	require.ErrorContains(t, err, "line breaks")
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := request{method: "GET", url: srv.URL, timeout: time.Minute, clock: fc, client: srv.Client()}
	done := make(chan outcome, 1)
	go func() {
		o, err := q.send(context.Background(), func([]byte) {})
		require.NoError(t, err)
		done <- o
	}()
	// Advance until the request's timer exists and fires.
	deadline := time.Now().Add(10 * time.Second)
	for {
		fc.Advance(time.Minute)
		select {
		case o := <-done:
			require.True(t, o.timedOut)
			return
		case <-time.After(20 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "the request did not time out")
	}
}

func TestRedactURL(t *testing.T) {
	require.Equal(t, "https://api.example.com/x", redactURL("https://user:pw@api.example.com/x?token=1#f"))
	require.Equal(t, "http://h/p", redactURL("http://h/p"))
}
