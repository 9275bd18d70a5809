package hooks_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
	wh "github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
	hooksmod "github.com/opsbot/opsbot/modules/hooks"
)

const (
	githubSecret = "gh-secret-for-the-module-test"
	genericToken = "uptime-token-for-the-module-test"
)

const yaml = `hooks:
  max_body_bytes: 200000
  github:
    secret: ` + githubSecret + `
  generic:
    uptime:
      token: ` + genericToken + `
      tag: 'alert.uptime'
      title: '{{ .alert.name }}'
      severity: '{{ .alert.level }}'
      fingerprint: 'uptime:{{ .alert.id }}'
      labels:
        host: '{{ .host }}'
`

// recorder stands in front of the app's ingester and records what reaches it.
type recorder struct {
	mu   sync.Mutex
	next event.Ingester
	got  []event.Event
}

func (r *recorder) Ingest(ctx context.Context, events []event.Event) ([]event.Stored, error) {
	r.mu.Lock()
	r.got = append(r.got, events...)
	r.mu.Unlock()
	return r.next.Ingest(ctx, events)
}

func (r *recorder) events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.got...)
}

func serve(t *testing.T, tb *bottest.Bot) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range tb.Bot.Routes() {
		if r.Module == "hooks" {
			mux.Handle(r.Pattern, r.Handler)
		}
	}
	return mux
}

func post(mux *http.ServeMux, path string, body []byte, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	return w
}

func TestModuleEndToEnd(t *testing.T) {
	tb := bottest.New(t, bottest.Modules(hooksmod.New()), bottest.Config(yaml))
	require.NotNil(t, tb.Bot.Ingester(), "the app gives the bot its ingester")
	rec := &recorder{next: tb.Bot.Ingester()}
	tb.Bot.SetIngester(rec)
	mux := serve(t, tb)

	push, err := os.ReadFile("../../hooks/github/testdata/push.branch_with_commit.json")
	require.NoError(t, err)
	sig := "sha256=" + hookstest.HexHMAC(githubSecret, push)
	w := post(mux, "/hooks/github", push, "X-Hub-Signature-256", sig, "X-GitHub-Event", "push", "X-GitHub-Delivery", "d-1")
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), `"ids"`)

	w = post(mux, "/hooks/github", push, "X-Hub-Signature-256", "sha256=00", "X-GitHub-Event", "push")
	require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())

	w = post(mux, "/hooks/generic/uptime", []byte(`{"alert":{"name":"api down","level":"critical","id":"7"},"host":"web1"}`),
		"Authorization", "Bearer "+genericToken)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())

	w = post(mux, "/hooks/gitlab", []byte(`{}`), "X-Gitlab-Token", "x")
	require.Equal(t, http.StatusNotFound, w.Code, "a source without config is not enabled")
	require.Contains(t, w.Body.String(), `unknown or unconfigured webhook source \"gitlab\"`)

	w = post(mux, "/hooks/github", bytes.Repeat([]byte("x"), 200001), "X-GitHub-Event", "push")
	require.Equal(t, http.StatusRequestEntityTooLarge, w.Code, "max_body_bytes applies")

	evs := rec.events()
	require.Len(t, evs, 2)
	require.Equal(t, "github.push", evs[0].Tag)
	require.Equal(t, "github", evs[0].Source)
	require.Equal(t, "d-1", evs[0].Fingerprint)
	require.Equal(t, "alert.uptime", evs[1].Tag)
	require.Equal(t, "generic/uptime", evs[1].Source)
	require.Equal(t, event.Critical, evs[1].Severity)
	require.Equal(t, "web1", evs[1].Labels["host"])

	// Acknowledged means stored: both are in the event log.
	lr, ok := rec.next.(event.LogReader)
	require.True(t, ok)
	for source, tag := range map[string]string{"github": "github.push", "generic/uptime": "alert.uptime"} {
		stored, err := lr.Log().Query(tb.Ctx, event.Filter{Source: source})
		require.NoError(t, err)
		require.Len(t, stored, 1, source)
		require.Equal(t, tag, stored[0].Tag)
	}

	logs := tb.Logs()
	require.Contains(t, logs, "webhook rejected")
	require.NotContains(t, logs, githubSecret)
	require.NotContains(t, logs, genericToken)
}

func TestModuleWithoutIngester(t *testing.T) {
	tb := bottest.New(t, bottest.Modules(hooksmod.New()), bottest.Config(yaml))
	if tb.Bot.Ingester() != nil {
		tb.Bot.SetIngester(nil)
	}
	mux := serve(t, tb)
	w := post(mux, "/hooks/generic/uptime", []byte(`{"alert":{"name":"api down","id":"7"}}`), "Authorization", "Bearer "+genericToken)
	require.Equal(t, http.StatusServiceUnavailable, w.Code, "nothing acknowledged that is not stored")
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"hooks:\n  github: {}\n", "hooks.github: a webhook secret is required"},
		{"hooks:\n  gitlab:\n    token: ''\n", "hooks.gitlab: a secret token is required"},
		{"hooks:\n  grafana:\n    header: X-Sig\n", "hooks.grafana: a secret (HMAC) or a token is required"},
		{"hooks:\n  pagerduty:\n    secrets: []\n", "hooks.pagerduty: a webhook subscription secret is required"},
		{"hooks:\n  generic:\n    x:\n      token: t\n      title: '{{ .a'\n", "hooks.generic.x.tag: is required"},
		{"hooks:\n  generic:\n    x:\n      token: t\n      tag: a\n      title: '{{ .a'\n", "hooks.generic.x.title:"},
		{"hooks:\n  generic:\n    'bad name':\n      token: t\n      tag: a\n      title: b\n", "letters, digits"},
		{"hooks:\n  githb:\n    secret: x\n", "githb"},
		{"hooks:\n  max_body_bytes: -1\n", "hooks.max_body_bytes: must be positive"},
	} {
		m := hooksmod.New()
		l := config.NewLoader()
		name, target := m.ConfigSection()
		require.NoError(t, l.Register(name, target))
		err := l.Load("opsbot.yaml", []byte(tc.yaml))
		require.Error(t, err, tc.yaml)
		require.Contains(t, err.Error(), tc.want, tc.yaml)
		require.True(t, strings.HasPrefix(err.Error(), "opsbot.yaml:"), "errors carry file:line: %v", err)
	}
}

func TestConfigAllSources(t *testing.T) {
	const all = `hooks:
  github: {secret: a1}
  gitlab: {token: a2}
  jenkins: {token: a3}
  alertmanager: {token: a4, username: am}
  grafana: {secret: a5, timestamp_header: X-Grafana-Alerting-Timestamp, tolerance: 2m}
  graylog: {token: a6}
  zabbix: {token: a7}
  sentry: {secret: a8, tolerance: 10m}
  bugsnag: {token: a9}
  newrelic: {token: b1}
  opsgenie: {token: b2}
  pagerduty: {secrets: [b3, b4]}
  generic:
    uptime:
      hmac: {secret: b5, header: X-Signature, prefix: 'sha256='}
      tag: alert.uptime
      title: '{{ .name }}'
`
	m := hooksmod.New()
	l := config.NewLoader()
	name, target := m.ConfigSection()
	require.NoError(t, l.Register(name, target))
	require.NoError(t, l.Load("opsbot.yaml", []byte(all)))
	srcs, err := target.(*hooksmod.Config).Sources()
	require.NoError(t, err)
	var names []string
	for n := range srcs {
		names = append(names, n)
	}
	require.ElementsMatch(t, []string{"github", "gitlab", "jenkins", "alertmanager", "grafana", "graylog", "zabbix",
		"sentry", "bugsnag", "newrelic", "opsgenie", "pagerduty", "generic/uptime"}, names)
	var _ wh.Source = srcs["github"]
}

// The commented hooks block of examples/opsbot.yaml loads once uncommented.
func TestExampleBlockLoads(t *testing.T) {
	raw, err := os.ReadFile("../../examples/opsbot.yaml")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(raw), "# --- Webhook sources:")
	require.True(t, ok)
	if i := strings.Index(block, "\n# ---"); i >= 0 {
		block = block[:i]
	}
	var lines []string
	for _, l := range strings.Split(block, "\n")[1:] {
		if rest, ok := strings.CutPrefix(l, "# "); ok {
			lines = append(lines, rest)
		}
	}
	env := map[string]string{}
	for _, v := range []string{"GITHUB_WEBHOOK_SECRET", "GITLAB_WEBHOOK_TOKEN", "JENKINS_HOOK_TOKEN", "ALERTMANAGER_HOOK_TOKEN",
		"GRAFANA_HMAC_SECRET", "GRAYLOG_HOOK_TOKEN", "ZABBIX_HOOK_TOKEN", "SENTRY_CLIENT_SECRET", "BUGSNAG_HOOK_TOKEN",
		"NEWRELIC_HOOK_TOKEN", "OPSGENIE_HOOK_TOKEN", "PAGERDUTY_SECRET", "PAGERDUTY_SECRET_NEXT", "UPTIME_HMAC_SECRET"} {
		env[v] = "value-of-" + strings.ToLower(v)
	}
	m := hooksmod.New()
	l := config.NewLoader(config.WithEnv(env))
	name, target := m.ConfigSection()
	require.NoError(t, l.Register(name, target))
	require.NoError(t, l.Load("opsbot.yaml", []byte(strings.Join(lines, "\n"))))
	srcs, err := target.(*hooksmod.Config).Sources()
	require.NoError(t, err)
	require.Len(t, srcs, 13)
}
