package alerts_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/alert/opsgenie/opsgenietest"
	"github.com/opsbot/opsbot/alert/pagerduty/pagerdutytest"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/modules/alerts"
	hooksmod "github.com/opsbot/opsbot/modules/hooks"
)

// The vendors' documented webhooks, through the real /hooks handlers, open
// alerts that `ack` and `close` carry back through the vendors' APIs.
func TestVendorWebhooksEndToEnd(t *testing.T) {
	og := opsgenietest.New(t, "og-key")
	og.AddAlert("052652ac-5d1c-464a-812a-7dd18bbfba8c")
	pd := pagerdutytest.New(t, "pd-token")
	pd.AddIncident("PGR0VU2")
	tb := bottest.New(t, bottest.Modules(hooksmod.New(), alerts.New(), alerts.NewOnCall()), bottest.Config(`hooks:
  opsgenie: {token: og-hook-token}
  pagerduty: {secrets: [pd-signing-secret]}
alerts:
  room: alerts
oncall:
  teams:
    - name: web
      provider: opsgenie
      schedule: web_schedule
      opsgenie: {api_key: og-key, base_url: "`+og.URL+`"}
    - name: db
      provider: pagerduty
      schedule: PSCHED
      pagerduty: {token: pd-token, from: bot@example.com, base_url: "`+pd.URL+`"}
`))
	tb.User("alice", "ops")
	tb.Grant("alerts", "group:ops")
	url := serveHTTP(t, tb)
	post := func(path string, file string, hdr ...string) {
		t.Helper()
		body, err := os.ReadFile("testdata/" + file)
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if path == "/hooks/pagerduty" {
			mac := hmac.New(sha256.New, []byte("pd-signing-secret"))
			mac.Write(body)
			req.Header.Set("X-PagerDuty-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, file)
	}

	post("/hooks/opsgenie", "webhook.create.json", "Authorization", "Bearer og-hook-token")
	tb.WaitFor("alerts", "Alert #1 [warning] test alert")
	post("/hooks/pagerduty", "v3.incident.triggered.json")
	tb.WaitFor("alerts", "Alert #2")

	require.Contains(t, tb.Say("alice", "ops", "ack 1"), "Acknowledged #1 (alice).")
	a, _ := og.Alert("052652ac-5d1c-464a-812a-7dd18bbfba8c")
	require.True(t, a.Acknowledged)
	// Opsgenie then tells us about that acknowledgement: nothing new happens.
	post("/hooks/opsgenie", "webhook.acknowledge.json", "X-Opsbot-Token", "og-hook-token")

	require.Contains(t, tb.Say("alice", "ops", "close 2"), "Closed #2 (alice).")
	inc, _ := pd.Incident("PGR0VU2")
	require.Equal(t, "resolved", inc.Status)
	list := tb.Say("alice", "ops", "alerts")
	require.Contains(t, list, "#1 [warning] test alert")
	require.Contains(t, list, "acknowledged by alice, opsgenie")
	require.NotContains(t, list, "#2")
}
