package monitors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/modules/monitors"
	"github.com/opsbot/opsbot/modules/schedules"
	"github.com/opsbot/opsbot/store"
)

// promAPI answers /api/v1/query and /api/v1/query_range as the Prometheus
// HTTP API reference describes (vector and matrix results).
type promAPI struct {
	mu    sync.Mutex
	value float64
}

func (p *promAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p.mu.Lock()
	v := p.value
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/v1/query":
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[
			{"metric":{"__name__":"queue_depth","queue":"mail"},"value":[%d,"%g"]},
			{"metric":{"__name__":"queue_depth","queue":"sms"},"value":[%d,"1"]}]}}`, time.Now().Unix(), v, time.Now().Unix())
	case "/api/v1/query_range":
		start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
		end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
		step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
		var vals []string
		for t := start; t <= end; t += step {
			vals = append(vals, fmt.Sprintf(`[%g,"%g"]`, t, t-start))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"queue":"mail"},"values":[%s]}]}}`, strings.Join(vals, ","))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestMonitorsModule(t *testing.T) {
	api := &promAPI{value: 2}
	ps := httptest.NewServer(api)
	defer ps.Close()
	cfg := fmt.Sprintf(`monitors:
  console_url: https://opsbot.example.com
  sources:
    prom: {type: prometheus, url: %q, bearer: s3cret-token}
  checks:
    - name: mail-queue
      source: prom
      query: queue_depth{queue="mail"}
      above: 5
      every: 30s
      severity: critical
    - name: backups
      heartbeat: {tag: backup.finished, every: 24h, grace: 1h}
      every: 10m
schedules:
  tasks:
    - {id: nightly-check, when: "every 1h", monitor: mail-queue}
`, ps.URL)
	sm, mm := schedules.New(), monitors.New()
	tb := bottest.New(t, bottest.Modules(sm, mm), bottest.Config(cfg))
	tb.User("alice", "ops")
	tb.Grant("monitors:silence", "group:ops")
	var mu sync.Mutex
	var got []event.Event
	tb.Bot.Events().Subscribe("test", "monitor.*", func(_ context.Context, e event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, e)
		return nil
	})
	events := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, e := range got {
			out = append(out, e.Tag+" "+e.Fingerprint)
		}
		got = nil
		return out
	}
	advance := func(d time.Duration) {
		tb.Clock.Advance(d)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, sm.Scheduler().Settle(ctx))
	}

	// The checks are schedules of the schedules module.
	list := tb.Say("alice", "ops", "schedules")
	require.Contains(t, list, "`monitors.check/mail-queue` every 30s")
	require.Contains(t, list, "`monitors.check/backups` every 10m")

	advance(30 * time.Second)
	require.Empty(t, events())
	api.mu.Lock()
	api.value = 9
	api.mu.Unlock()
	advance(30 * time.Second)
	require.Eventually(t, func() bool { return len(events()) == 1 }, 5*time.Second, 10*time.Millisecond)

	out := tb.Say("alice", "ops", "monitors")
	require.Contains(t, out, "2 monitor(s), 1 firing")
	require.Contains(t, out, "`mail-queue` FIRING since 11-22 09:01 UTC — value 9 — 9 > 5 (prometheus: > 5, every 30s)")
	require.Contains(t, out, "`backups` UNKNOWN (heartbeat: backup.finished every 24h, every 10m)")

	require.Contains(t, tb.Say("alice", "ops", "silence mail-queue for 1h"), "silenced until 2026-11-22 10:01 UTC")
	require.Contains(t, tb.Say("alice", "ops", "monitors"), "silenced until 11-22 10:01 UTC by alice")
	require.Contains(t, tb.Say("alice", "ops", "unsilence mail-queue"), "no longer silenced")
	require.Contains(t, tb.Say("alice", "ops", "silence nope for 1h"), "nope")

	// The heartbeat: a backup arrives, then none for a day and more.
	_, err := tb.Bot.Ingester().Ingest(tb.Ctx, []event.Event{{Tag: "backup.finished", Title: "backup done", Source: "cron", Severity: event.Info, Status: event.Firing, Time: tb.Clock.Now()}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { // the bus delivers events in the background
		return strings.Contains(tb.Say("alice", "ops", "monitors"), "`backups` OK since 11-22 09:01 UTC — last seen 11-22 09:01 UTC")
	}, 5*time.Second, 10*time.Millisecond)
	for i := 0; i < 26; i++ { // hour steps: each a stall beyond the grace, the latest check runs
		advance(time.Hour)
	}
	require.Eventually(t, func() bool {
		for _, e := range events() {
			if e == "monitor.firing backups" {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)

	// query and graph.
	q := tb.Say("alice", "ops", "query queue_depth")
	require.Contains(t, q, "`queue_depth` on prom:\n```\nqueue_depth{queue=\"mail\"}  9\nqueue_depth{queue=\"sms\"}   1\n```")
	posts := tb.Send(tb.Message("alice", "ops", "graph rate(x[5m]) for 30m on prom"))
	require.Len(t, posts, 1)
	img := posts[0].Post.Image
	require.NotNil(t, img)
	require.True(t, strings.HasPrefix(img.URL, "https://opsbot.example.com/graphs/"), img.URL)
	require.Contains(t, posts[0].Post.Text, "`rate(x[5m])` on prom, last 30m (1 series)")
	require.Contains(t, tb.Say("alice", "ops", "graph x for soon"), `"soon" is not a duration`)
	require.Contains(t, tb.Say("alice", "ops", "query x on nowhere"), `"nowhere" is not a source`)

	// The routes: the graph PNG and the API.
	srv := httpapi.New(nil, tb.App.Registry)
	for _, r := range tb.Bot.Routes() {
		if r.Scope != "" {
			srv.HandleAPI(r.Pattern, r.Scope, r.Handler)
		} else {
			srv.Handle(r.Pattern, r.Handler)
		}
	}
	srv.SetReady(tb.Store)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	resp, err := http.Get(hs.URL + strings.TrimPrefix(img.URL, "https://opsbot.example.com"))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = png.Decode(bytes.NewReader(body))
	require.NoError(t, err)

	tok, hash, err := httpapi.NewToken()
	require.NoError(t, err)
	_, err = tb.Store.CreateToken(t.Context(), store.Token{Name: "reader", Hash: hash, Scopes: []string{"monitors:read"}})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/v1/monitors?state=firing", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var res struct {
		Monitors []map[string]any `json:"monitors"`
		Total    int              `json:"total"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
	resp.Body.Close()
	require.Equal(t, 2, res.Total)
	require.Equal(t, "backups", res.Monitors[0]["name"])

	// The bearer token never reaches the log.
	require.NotContains(t, tb.Logs(), "s3cret-token")
}

// uploader is a chat that takes file uploads.
type uploader struct {
	mu     sync.Mutex
	files  map[string][]byte
	posts  []string
	posted chan struct{}
}

func (u *uploader) Name() string { return "up" }
func (u *uploader) Run(ctx context.Context, _ chan<- chat.Message) error {
	<-ctx.Done()
	return nil
}
func (u *uploader) Post(_ context.Context, _ chat.Room, p chat.Post) (chat.Ref, error) {
	u.mu.Lock()
	u.posts = append(u.posts, p.Text)
	u.mu.Unlock()
	select {
	case u.posted <- struct{}{}:
	default:
	}
	return chat.Ref{ID: "1"}, nil
}
func (u *uploader) Upload(_ context.Context, _ chat.Room, name string, data []byte) (chat.Ref, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.files[name] = data
	return chat.Ref{ID: "f1"}, nil
}

// TestGraphUpload: in a chat that takes uploads, the PNG is uploaded.
func TestGraphUpload(t *testing.T) {
	ps := httptest.NewServer(&promAPI{value: 1})
	defer ps.Close()
	tb := bottest.New(t, bottest.Modules(monitors.New()), bottest.Config(fmt.Sprintf("monitors:\n  sources:\n    prom: {type: prometheus, url: %q}\n", ps.URL)))
	up := &uploader{files: map[string][]byte{}, posted: make(chan struct{}, 1)}
	tb.Bot.Sender().Add(up)
	tb.Bot.Handle(tb.Ctx, chat.Message{ID: "u1", Room: chat.Room{Adapter: "up", ID: "C1", Name: "#ops"},
		From: chat.Identity{Adapter: "up", ID: "U1", Name: "bob"}, Text: "graph up for 6h", Direct: true})
	select {
	case <-up.posted:
	case <-time.After(10 * time.Second):
		t.Fatal("no caption posted")
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	require.Contains(t, up.posts[0], "up on prom, last 6h (1 series)") // plain text: the chat has no Markdown
	_, err := png.Decode(bytes.NewReader(up.files["graph.png"]))
	require.NoError(t, err)
}
