package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store/pgtest"
)

// fakeES follows the Elasticsearch count and search API reference: POST
// /{index}/_count and /{index}/_search with a JSON query, answers from
// testdata, errors in the API's error envelope.
type fakeES struct {
	mu     sync.Mutex
	count  int
	bodies []map[string]any
	paths  []string
	auth   string
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = r.Header.Get("Authorization")
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	if err := json.Unmarshal(raw, &body); err != nil || r.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusBadRequest)
		w.Write(mustRead("testdata/es_error.json"))
		return
	}
	f.bodies = append(f.bodies, body)
	if strings.Contains(string(raw), "matchx") {
		w.WriteHeader(http.StatusBadRequest)
		w.Write(mustRead("testdata/es_error.json"))
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/_count"):
		var doc map[string]any
		_ = json.Unmarshal(mustRead("testdata/es_count.json"), &doc)
		doc["count"] = f.count
		_ = json.NewEncoder(w).Encode(doc)
	case strings.HasSuffix(r.URL.Path, "/_search"):
		w.Write(mustRead("testdata/es_search_aggs.json"))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func mustRead(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}

func TestElasticsearch(t *testing.T) {
	es := &fakeES{count: 3}
	srv := httptest.NewServer(es)
	defer srv.Close()
	cfg := Config{
		Sources: map[string]SourceConfig{"logs": {Type: "elasticsearch", URL: srv.URL, APIKey: config.Secret("k3y"), Window: dur(10 * time.Minute)}},
		Checks: []Check{
			{Name: "api-errors", Source: "logs", Query: "logstash-*: level:error AND service:api", Above: f(20), For: dur(time.Minute)},
			{Name: "latency", Source: "logs", Query: `{"index": "logstash-*", "query": {"term": {"service": "api"}}, "within": "5m", "aggregation": {"avg": {"field": "latency_ms"}}}`, Above: f(100)},
		},
	}
	r, clk, ev := newRunner(t, "", cfg)
	ctx := context.Background()
	require.NoError(t, r.Check(ctx, "api-errors"))
	es.mu.Lock()
	require.Equal(t, "POST /logstash-*/_count", es.paths[0])
	require.Equal(t, "ApiKey k3y", es.auth)
	b, _ := json.Marshal(es.bodies[0])
	require.JSONEq(t, `{"query":{"bool":{"filter":[{"query_string":{"query":"level:error AND service:api"}},{"range":{"@timestamp":{"gte":"now-600s"}}}]}}}`, string(b))
	es.count = 25
	es.mu.Unlock()
	require.NoError(t, r.Check(ctx, "api-errors"))
	clk.Advance(time.Minute)
	require.NoError(t, r.Check(ctx, "api-errors"))
	require.Equal(t, []string{"monitor.firing api-errors firing"}, ev.take())

	require.NoError(t, r.Check(ctx, "latency"))
	require.Equal(t, []string{"monitor.firing latency firing"}, ev.take())
	require.Equal(t, "128.5", ev.last().Fields["value"])
	es.mu.Lock()
	b, _ = json.Marshal(es.bodies[len(es.bodies)-1])
	es.mu.Unlock()
	require.JSONEq(t, `{"size":0,"aggs":{"value":{"avg":{"field":"latency_ms"}}},"query":{"bool":{"filter":[{"term":{"service":"api"}},{"range":{"@timestamp":{"gte":"now-300s"}}}]}}}`, string(b))

	_, err := r.sources["logs"].Query(ctx, `{"index": "x", "query": {"matchx": {}}}`)
	require.ErrorIs(t, err, ErrQuery)
	require.ErrorContains(t, err, "parsing_exception: unknown query [matchx]")
	_, err = r.sources["logs"].Query(ctx, `no index here`)
	require.ErrorContains(t, err, "INDEX: QUERY")
}

func TestHeartbeat(t *testing.T) {
	cfg := Config{Checks: []Check{{Name: "backups", Heartbeat: &Heartbeat{Tag: "backup.finished", Labels: map[string]string{"db": "main"}, Every: dur(24 * time.Hour), Grace: dur(time.Hour)}, Every: dur(10 * time.Minute), Severity: "critical"}}}
	r, clk, ev := newRunner(t, "", cfg)
	ctx := context.Background()
	beat := func(labels map[string]string) { r.Observe(ctx, event.Event{Tag: "backup.finished", Labels: labels}) }
	require.NoError(t, r.Check(ctx, "backups")) // monitoring begins
	clk.Advance(20 * time.Hour)
	beat(map[string]string{"db": "main"})
	clk.Advance(24 * time.Hour)
	require.NoError(t, r.Check(ctx, "backups"))
	require.Empty(t, ev.take())
	// The next backup doesn't come (one for another database doesn't count).
	beat(map[string]string{"db": "other"})
	clk.Advance(61 * time.Minute)
	require.NoError(t, r.Check(ctx, "backups"))
	require.Equal(t, []string{"monitor.firing backups firing"}, ev.take())
	require.Equal(t, "backups is firing: no backup.finished for 25h1m (expected every 24h)", ev.last().Title)
	require.Equal(t, event.Critical, ev.last().Severity)
	require.NoError(t, r.Check(ctx, "backups"))
	require.Empty(t, ev.take())
	// It comes back: resolved at once.
	beat(map[string]string{"db": "main", "host": "db1"})
	require.Equal(t, []string{"monitor.resolved backups resolved"}, ev.take())
}

func TestHTTPCheck(t *testing.T) {
	var mu sync.Mutex
	status, body := 200, "ok: all good"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, "Bearer s3cret", r.Header.Get("Authorization"))
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	cfg := Config{Checks: []Check{{Name: "site", HTTP: &HTTPCheck{URL: srv.URL + "/health", Body: `all good`, Headers: map[string]config.Secret{"Authorization": "Bearer s3cret"}}, For: dur(time.Minute)}}}
	r, clk, ev := newRunner(t, "", cfg)
	ctx := context.Background()
	set := func(s int, b string) { mu.Lock(); status, body = s, b; mu.Unlock() }
	require.NoError(t, r.Check(ctx, "site"))
	set(503, "down")
	require.NoError(t, r.Check(ctx, "site"))
	clk.Advance(time.Minute)
	require.NoError(t, r.Check(ctx, "site"))
	require.Equal(t, []string{"monitor.firing site firing"}, ev.take())
	require.Contains(t, ev.last().Title, "HTTP 503, expected 200")
	set(200, "ok: something else")
	require.NoError(t, r.Check(ctx, "site"))
	st, _ := r.db.load(ctx, "site")
	require.Equal(t, `the body does not match "all good"`, st.Reason)
	set(200, "ok: all good")
	require.NoError(t, r.Check(ctx, "site"))
	require.Equal(t, []string{"monitor.resolved site resolved"}, ev.take())
	// A connection refused is a failure of the endpoint checked.
	srv.Close()
	clk.Advance(time.Minute)
	require.NoError(t, r.Check(ctx, "site"))
	clk.Advance(time.Minute)
	require.NoError(t, r.Check(ctx, "site"))
	require.Equal(t, []string{"monitor.firing site firing"}, ev.take())
	require.Contains(t, ev.last().Title, "request failed")
}

// fakeProm is a Prometheus query API that can be switched off.
type fakeProm struct {
	mu    sync.Mutex
	value string // "" for an empty vector
	down  bool
}

func (p *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "Service Unavailable")
		return
	}
	result := `[]`
	if p.value != "" {
		result = `[{"metric":{"__name__":"x"},"value":[1763798400.123,"` + p.value + `"]}]`
	}
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":%s}}`, result)
}

func (p *fakeProm) set(value string, down bool) {
	p.mu.Lock()
	p.value, p.down = value, down
	p.mu.Unlock()
}

// TestConditionsAndGuard covers rate of change, absence with the
// unreachable-source guard (also after the source comes back), silences,
// on SQLite and PostgreSQL.
func TestConditionsAndGuard(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = pgtest.Start(t)
			}
			fp := &fakeProm{value: "100"}
			srv := httptest.NewServer(fp)
			defer srv.Close()
			cfg := Config{
				Sources: map[string]SourceConfig{"prom": {Type: "prometheus", URL: srv.URL}},
				Checks: []Check{
					{Name: "jump", Source: "prom", Query: "x", Change: &Change{By: 50, Percent: true, Within: dur(10 * time.Minute)}},
					{Name: "gone", Source: "prom", Query: "x", Absent: dur(5 * time.Minute)},
					{Name: "low", Source: "prom", Query: "x", Below: f(10)},
				},
			}
			r, clk, ev := newRunner(t, url, cfg)
			ctx := context.Background()
			all := func() {
				for _, n := range []string{"jump", "gone", "low"} {
					require.NoError(t, r.Check(ctx, n))
				}
			}
			all()
			clk.Advance(5 * time.Minute)
			fp.set("140", false) // +40%: not yet
			all()
			require.Empty(t, ev.take())
			clk.Advance(4 * time.Minute)
			fp.set("160", false) // +60% within 9 minutes
			all()
			require.Equal(t, []string{"monitor.firing jump firing"}, ev.take())
			require.Contains(t, ev.last().Title, "changed by 60% (100 → 160)")
			clk.Advance(10 * time.Minute)
			all() // the window moved on: steady
			require.Equal(t, []string{"monitor.resolved jump resolved"}, ev.take())

			// Silenced, a firing monitor announces nothing; after the silence it does.
			require.NoError(t, r.Silence(ctx, "low", clk.Now().Add(time.Hour), "alice"))
			fp.set("5", false)
			all()
			require.Equal(t, []string{"monitor.firing jump firing"}, ev.take())
			st, err := r.db.load(ctx, "low")
			require.NoError(t, err)
			require.Equal(t, StateFiring, st.State)
			require.Equal(t, "alice", st.SilencedBy)
			clk.Advance(time.Hour)
			all()
			require.Equal(t, []string{"monitor.resolved jump resolved", "monitor.firing low firing"}, ev.take())
			require.NoError(t, r.Silence(ctx, "low", time.Time{}, ""))
			fp.set("50", false)
			clk.Advance(time.Minute)
			all()
			require.Equal(t, []string{"monitor.firing jump firing", "monitor.resolved low resolved"}, ev.take()) // 5 → 50 is +900%

			// The source goes down for 20 minutes: one source event, no absence alert.
			fp.set("", true)
			for i := 0; i < 20; i++ {
				clk.Advance(time.Minute)
				all()
			}
			require.Equal(t, []string{"monitor.source source/prom firing"}, ev.take())
			// It comes back with no data: the absence counts from its return.
			fp.set("", false)
			clk.Advance(time.Minute)
			all()
			require.Equal(t, []string{"monitor.source source/prom resolved"}, ev.take())
			clk.Advance(4 * time.Minute)
			all()
			require.Empty(t, ev.take())
			clk.Advance(time.Minute)
			all()
			require.Equal(t, []string{"monitor.firing gone firing"}, ev.take())
			require.Equal(t, "gone is firing: no data for 5m", ev.last().Title)
		})
	}
}

func TestValidate(t *testing.T) {
	cfg := Config{
		Sources: map[string]SourceConfig{"p": {Type: "influx", URL: "ftp://x"}},
		Checks: []Check{
			{Name: "Bad Name", Source: "nope"},
			{Name: "a", Source: "p", Query: "x"},
			{Name: "a", HTTP: &HTTPCheck{URL: "x", Body: "("}},
			{Name: "b", Heartbeat: &Heartbeat{}, Source: "p", Query: "q", Above: f(1)},
		},
	}
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`sources.p.type: "influx" is not one of`, `sources.p.url: must be an http`,
		`checks[0].name: "Bad Name"`, `checks[0].source: "nope" is not a source`, `checks[0].query: is required`,
		`checks[1]: has no condition`, `checks[2].name: "a" is used twice`, `checks[2].http.url`, `checks[2].http.body: not a regular expression`,
		`checks[3].heartbeat.tag: is required`, `checks[3]: give exactly one of`,
	} {
		require.Contains(t, err.Error(), want)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 30 * time.Second: "30s", 25*time.Hour + time.Minute: "25h1m", 1500 * time.Millisecond: "1.5s",
	} {
		require.Equal(t, want, FormatDuration(d))
	}
}
