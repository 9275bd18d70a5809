package pagerduty

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const (
	secret  = "pd-secret-current-81"
	rotated = "pd-secret-next-82"
)

func signed(b []byte) *hooks.Request {
	return hookstest.Req(b, SignatureHeader, "v1="+hookstest.HexHMAC(secret, b))
}

func TestSuite(t *testing.T) {
	s, err := New(secret, rotated)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "pagerduty", Source: s, Secrets: []string{secret, rotated}, BodySigned: true,
		Valid: hookstest.Fixture(t, "v3.incident.triggered.json"), Sign: signed,
		Forge: map[string]hookstest.Sign{
			"wrong secret": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, "v1="+hookstest.HexHMAC("other", b))
			},
			"no v1 prefix": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, hookstest.HexHMAC(secret, b))
			},
			"v0 scheme": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, "v0="+hookstest.HexHMAC(secret, b))
			},
			"several, none valid": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, "v1="+hookstest.HexHMAC("a", b)+",v1="+hookstest.HexHMAC("b", b))
			},
		},
	})
}

func TestSeveralSignatures(t *testing.T) {
	s, _ := New(rotated)
	b := hookstest.Fixture(t, "v3.incident.triggered.json")
	// During a rotation PagerDuty sends one signature per secret.
	r := hookstest.Req(b, SignatureHeader, "v1="+hookstest.HexHMAC(secret, b)+", v1="+hookstest.HexHMAC(rotated, b))
	require.NoError(t, s.Verify(r))
	r = hookstest.Req(b, SignatureHeader, "v1="+hookstest.HexHMAC(secret, b))
	require.ErrorIs(t, s.Verify(r), hooks.ErrUnauthorized)
}

func TestParse(t *testing.T) {
	s, _ := New(secret)
	evs, err := s.Parse(signed(hookstest.Fixture(t, "v3.incident.triggered.json")))
	require.NoError(t, err)
	e := evs[0]
	require.Equal(t, "alert.pagerduty", e.Tag)
	require.Equal(t, "[#2] A little bump in the road", e.Title)
	require.Equal(t, event.Firing, e.Status)
	require.Equal(t, event.Critical, e.Severity)
	require.Equal(t, "P1", e.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "API Service", e.Labels["service"])
	require.Equal(t, "pagerduty:PGR0VU2", e.Fingerprint)
	require.Equal(t, time.Date(2020, 10, 2, 18, 45, 22, 169e6, time.UTC), e.Time)

	evs, err = s.Parse(signed(hookstest.Fixture(t, "v3.incident.priority_updated.json")))
	require.NoError(t, err)
	require.Equal(t, "[#2] A little bump in the road — priority updated by Tenex Engineer", evs[0].Title)

	evs, err = s.Parse(signed([]byte(`{"event":{"event_type":"incident.resolved","data":{"id":"PGR0VU2","number":2,"title":"A little bump in the road","urgency":"low"}}}`)))
	require.NoError(t, err)
	require.Equal(t, event.Resolved, evs[0].Status)
	require.Equal(t, event.Warning, evs[0].Severity, "low urgency, no priority")
	require.Equal(t, "pagerduty:PGR0VU2", evs[0].Fingerprint)
}

func TestMalformedAndIgnored(t *testing.T) {
	s, _ := New(secret)
	for body, want := range map[string]string{
		`{}`: "missing required field event.event_type",
		`{"event":{"event_type":"incident.triggered"}}`:                                   "missing required field event.data.id",
		`{"event":{"event_type":"incident.triggered","data":{"id":"P1"}}}`:                "missing required field event.data.title",
		`{"event":{"event_type":"incident.triggered","data":{"id":"P1","number":"two"}}}`: "field event.data.number",
	} {
		_, err := s.Parse(signed([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	for _, body := range []string{`{"event":{"event_type":"pagey.ping"}}`, `{"event":{"event_type":"service.updated","data":{"id":"S1"}}}`} {
		_, err := s.Parse(signed([]byte(body)))
		var ign *hooks.Ignored
		require.ErrorAs(t, err, &ign, body)
	}
	_, err := New("", "")
	require.Error(t, err)
}
