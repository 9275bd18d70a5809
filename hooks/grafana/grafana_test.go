package grafana

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const (
	secret = "grafana-hmac-secret-77"
	token  = "grafana-token-5d2e"
	tsHdr  = "X-Grafana-Alerting-Timestamp"
)

func signed(b []byte) *hooks.Request {
	return hookstest.Req(b, DefaultSignatureHeader, hookstest.HexHMAC(secret, b))
}

func signedAt(at time.Time) hookstest.Sign {
	return func(b []byte) *hooks.Request {
		ts := strconv.FormatInt(at.Unix(), 10)
		return hookstest.Req(b, DefaultSignatureHeader, hookstest.HexHMAC(secret, []byte(ts+":"), b), tsHdr, ts)
	}
}

func TestSuiteHMAC(t *testing.T) {
	s, err := New(Options{Secret: secret})
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "grafana", Source: s, Secrets: []string{secret}, BodySigned: true,
		Valid: hookstest.Fixture(t, "webhook.unified_alerting.firing.json"), Sign: signed,
		Forge: map[string]hookstest.Sign{
			"wrong secret": func(b []byte) *hooks.Request {
				return hookstest.Req(b, DefaultSignatureHeader, hookstest.HexHMAC("other", b))
			},
			"token instead of signature": func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer "+secret) },
		},
	})
}

func TestSuiteHMACWithTimestamp(t *testing.T) {
	s, err := New(Options{Secret: secret, TimestampHeader: tsHdr})
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "grafana", Source: s, Secrets: []string{secret}, BodySigned: true,
		Valid: hookstest.Fixture(t, "webhook.unified_alerting.firing.json"), Sign: signedAt(hookstest.Now),
		Forge: map[string]hookstest.Sign{
			"stale":          signedAt(hookstest.Now.Add(-6 * time.Minute)),
			"future":         signedAt(hookstest.Now.Add(6 * time.Minute)),
			"body-only HMAC": signed,
			"timestamp swapped": func(b []byte) *hooks.Request {
				r := signedAt(hookstest.Now)(b)
				r.Header.Set(tsHdr, strconv.FormatInt(hookstest.Now.Unix()+1, 10))
				return r
			},
		},
	})
	r := signedAt(hookstest.Now.Add(-4 * time.Minute))(hookstest.Fixture(t, "webhook.unified_alerting.firing.json"))
	require.NoError(t, s.Verify(r), "within the tolerance")
}

func TestSuiteToken(t *testing.T) {
	s, err := New(Options{Token: token})
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "grafana", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "webhook.unified_alerting.firing.json"),
		Sign:  func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer "+token) },
		Forge: map[string]hookstest.Sign{
			"wrong token": func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer x"+token) },
		},
	})
}

func TestSecretAndTokenBothRequired(t *testing.T) {
	s, _ := New(Options{Secret: secret, Token: token})
	b := hookstest.Fixture(t, "webhook.unified_alerting.firing.json")
	require.ErrorIs(t, s.Verify(signed(b)), hooks.ErrUnauthorized)
	r := signed(b)
	r.Header.Set("Authorization", "Bearer "+token)
	require.NoError(t, s.Verify(r))
}

func TestParse(t *testing.T) {
	s, _ := New(Options{Secret: secret})
	evs, err := s.Parse(signed(hookstest.Fixture(t, "webhook.unified_alerting.firing.json")))
	require.NoError(t, err)
	require.Len(t, evs, 2)
	e := evs[0]
	require.Equal(t, "alert.grafana", e.Tag)
	require.Equal(t, event.Firing, e.Status)
	require.Equal(t, event.Warning, e.Severity, "no severity label: warning")
	require.Empty(t, e.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "High memory usage: This alert was triggered for zone us-1", e.Title)
	require.Equal(t, "The system has high memory usage", e.Text)
	require.Equal(t, "grafana:c6eadffa33fcdf37", e.Fingerprint)
	require.Equal(t, "1", e.Labels["grafana_org"])
	require.Equal(t, "blue", e.Labels["team"])
	var titles []string
	for _, l := range e.Links {
		titles = append(titles, l.Title)
	}
	require.Equal(t, []string{"source", "runbook", "silence"}, titles)
	require.Equal(t, time.Date(2021, 10, 12, 7, 51, 3, 157e6, time.UTC), e.Time)
}

func TestMalformed(t *testing.T) {
	s, _ := New(Options{Secret: secret})
	for body, want := range map[string]string{
		`{"status":"firing"}`: "missing required field version",
		`{"version":"1"}`:     "missing required field alerts",
		`{"version":"1","alerts":[{"status":"firing","labels":{}}]}`:          "alerts[0]: missing required field labels",
		`{"version":"1","alerts":[{"status":"alerting","labels":{"a":"b"}}]}`: "neither firing nor resolved",
	} {
		_, err := s.Parse(signed([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	_, err := New(Options{})
	require.Error(t, err)
}
