package events_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/httpapi"
	eventsmod "github.com/opsbot/opsbot/modules/events"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/pgtest"
)

// api is an HTTP server as `opsbot serve` builds it, with tokens.
type api struct {
	tb     *bottest.Bot
	srv    *httpapi.Server
	url    string
	writer string // a token with events:write
	reader string // a token without it
}

func newAPI(t *testing.T, opts ...bottest.Option) *api {
	t.Helper()
	tb := bottest.New(t, append([]bottest.Option{bottest.Modules(eventsmod.New())}, opts...)...)
	srv := httpapi.New(nil, tb.App.Registry)
	for _, r := range tb.Bot.Routes() {
		if r.Scope != "" {
			srv.HandleAPI(r.Pattern, r.Scope, r.Handler)
		} else {
			srv.Handle(r.Pattern, r.Handler)
		}
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	a := &api{tb: tb, srv: srv, url: hs.URL + "/api/v1/events"}
	a.writer = a.token(t, "sender", "events:write")
	a.reader = a.token(t, "reader", "audit:read")
	return a
}

func (a *api) token(t *testing.T, name, scope string) string {
	tok, hash, err := httpapi.NewToken()
	require.NoError(t, err)
	_, err = a.tb.Store.CreateToken(t.Context(), store.Token{Name: name, Hash: hash, Scopes: []string{scope}})
	require.NoError(t, err)
	return tok
}

func (a *api) post(t *testing.T, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func (a *api) log() event.Log {
	return a.tb.Bot.Ingester().(event.LogReader).Log()
}

func TestAPIStatusCodes(t *testing.T) {
	a := newAPI(t)
	code, body := a.post(t, a.writer, `{"tag":"x","title":"y"}`)
	require.Equal(t, http.StatusServiceUnavailable, code, "503 until the server is ready: %s", body)
	a.srv.SetReady(a.tb.Store)

	big := `{"tag":"a","text":"` + strings.Repeat("x", eventsmod.DefaultMaxBody) + `"}`
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"tag":"a","title":"t"},`, eventsmod.DefaultMaxEvents+1), ",") + "]"
	for _, tc := range []struct {
		name, token, body string
		code              int
		want              string
	}{
		{"no token", "", `{"tag":"x","title":"y"}`, 401, "missing API token"},
		{"forged token", "opsbot_forged", `{"tag":"x","title":"y"}`, 401, "invalid or revoked API token"},
		{"token without the scope", a.reader, `{"tag":"x","title":"y"}`, 403, "lacks the scope events:write"},
		{"bad severity in an array", a.writer,
			`[{"tag":"a","title":"t"},{"tag":"a","title":"t"},{"tag":"a","title":"t"},{"tag":"a","title":"t","severity":"urgent"}]`,
			400, `events[3].severity: \"urgent\" is not one of info, warning, critical`},
		{"bad severity alone", a.writer, `{"tag":"a","title":"t","severity":"urgent"}`, 400, `"severity: \"urgent\" is not one of`},
		{"unknown field", a.writer, `[{"tag":"a","title":"t","colour":"red"}]`, 400, `events[0].colour: unknown field`},
		{"wrong type", a.writer, `{"tag":"a","title":"t","labels":{"host":5}}`, 400, `"labels: number where a string is expected`},
		{"bad time", a.writer, `{"tag":"a","title":"t","time":"yesterday"}`, 400, `time: \"yesterday\" is not an RFC 3339 time`},
		{"tag missing", a.writer, `{"title":"t"}`, 400, `tag: is required`},
		{"not JSON", a.writer, `{"tag":`, 400, `body: the JSON ends too early`},
		{"syntax", a.writer, `{"tag" "a"}`, 400, `body: invalid JSON at byte`},
		{"trailing data", a.writer, `{"tag":"a","title":"t"} {}`, 400, `body: unexpected data after the JSON value`},
		{"empty", a.writer, ``, 400, `body: empty`},
		{"empty array", a.writer, `[]`, 400, `events: the array is empty`},
		{"a string", a.writer, `"hello"`, 400, `body: string where an event object or an array of events is expected`},
		{"body too large", a.writer, big, 413, "more than the limit of 1048576 bytes"},
		{"too many events", a.writer, many, 413, "1001 events, more than the limit of 1000 per request"},
	} {
		code, body := a.post(t, tc.token, tc.body)
		require.Equal(t, tc.code, code, "%s: %s", tc.name, body)
		require.Contains(t, body, tc.want, tc.name)
	}
	n, err := a.log().Query(t.Context(), event.Filter{})
	require.NoError(t, err)
	require.Empty(t, n, "nothing rejected was stored")

	// Accepted: one object, then an array; the IDs are those stored.
	code, body = a.post(t, a.writer, `{"tag":"deploy.finished","title":"Deployed api","labels":{"service":"api"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	var one struct{ IDs []string }
	require.NoError(t, json.Unmarshal([]byte(body), &one))
	require.Len(t, one.IDs, 1)
	code, body = a.post(t, a.writer, `[{"tag":"a.b","text":"first"},{"id":"client-chosen-1","tag":"a.c","text":"second","source":"cron"}]`)
	require.Equal(t, http.StatusAccepted, code, body)
	var two struct{ IDs []string }
	require.NoError(t, json.Unmarshal([]byte(body), &two))
	require.Len(t, two.IDs, 2)
	require.Equal(t, "client-chosen-1", two.IDs[1])
	// A retry with the same ID is accepted and not stored twice.
	code, body = a.post(t, a.writer, `{"id":"client-chosen-1","tag":"a.c","text":"second","source":"cron"}`)
	require.Equal(t, http.StatusAccepted, code, body)
	require.JSONEq(t, `{"ids":["client-chosen-1"]}`, body)

	stored, err := a.log().Query(t.Context(), event.Filter{})
	require.NoError(t, err)
	require.Len(t, stored, 3)
	require.Equal(t, "client-chosen-1", stored[0].ID)
	require.Equal(t, "cron", stored[0].Source)
	require.Equal(t, "api", stored[2].Source, "the API is the default source")
	require.Equal(t, one.IDs[0], stored[2].ID)
	require.Equal(t, a.tb.Clock.Now(), stored[2].Time, "the time defaults to the bot's clock")
	require.Equal(t, event.Info, stored[2].Severity)

	metrics := httptest.NewRecorder()
	a.srv.Handler().ServeHTTP(metrics, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Contains(t, metrics.Body.String(), `opsbot_events_total{source="api"} 2`)
	require.Contains(t, metrics.Body.String(), `opsbot_events_total{source="cron"} 1`)
	require.Contains(t, metrics.Body.String(), `opsbot_event_ingest_batch_size_count`)
}

// TestAPIPublishesAfterStoring checks that a subscriber sees an event the
// API accepted, and that it was in the log by then.
func TestAPIPublishesAfterStoring(t *testing.T) {
	a := newAPI(t)
	a.srv.SetReady(a.tb.Store)
	seen := make(chan event.Event, 1)
	a.tb.Bot.Events().Subscribe("test", "backup.*", func(ctx context.Context, e event.Event) error {
		got, err := a.log().Query(ctx, event.Filter{TagPattern: e.Tag})
		if err == nil && len(got) == 1 {
			seen <- e
		}
		return nil
	})
	code, body := a.post(t, a.writer, `{"tag":"backup.failed","severity":"critical","text":"nightly backup of db1 failed"}`)
	require.Equal(t, http.StatusAccepted, code, body)
	select {
	case e := <-seen:
		require.Equal(t, "nightly backup of db1 failed", e.Title)
	case <-time.After(20 * time.Second):
		t.Fatal("the subscriber never saw the stored event")
	}
}

func TestAPIOnPostgres(t *testing.T) {
	a := newAPI(t, bottest.Database(pgtest.Start(t)))
	a.srv.SetReady(a.tb.Store)
	code, body := a.post(t, a.writer, `[{"tag":"a.b","title":"one"},{"tag":"a.b","title":"two"}]`)
	require.Equal(t, http.StatusAccepted, code, body)
	got, err := a.log().Query(t.Context(), event.Filter{TagPattern: "a.*"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "two", got[0].Title)
}
