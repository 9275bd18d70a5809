package sentry

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const secret = "sentry-client-secret-5a"

func signedAt(res string, at time.Time) hookstest.Sign {
	return func(b []byte) *hooks.Request {
		return hookstest.Req(b, SignatureHeader, hookstest.HexHMAC(secret, b), ResourceHeader, res,
			TimestampHeader, strconv.FormatInt(at.Unix(), 10))
	}
}

func signed(res string) hookstest.Sign { return signedAt(res, hookstest.Now) }

func TestSuite(t *testing.T) {
	s, err := New(secret, 0)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "sentry", Source: s, Secrets: []string{secret}, BodySigned: true,
		Valid: hookstest.Fixture(t, "event_alert.triggered.json"), Sign: signed("event_alert"),
		Forge: map[string]hookstest.Sign{
			"wrong secret": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, hookstest.HexHMAC("nope", b), ResourceHeader, "event_alert")
			},
			"stale": signedAt("event_alert", hookstest.Now.Add(-10*time.Minute)),
			"not hex": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, "zz"+hookstest.HexHMAC(secret, b)[2:])
			},
			"bad stamp": func(b []byte) *hooks.Request {
				r := signed("event_alert")(b)
				r.Header.Set(TimestampHeader, "yesterday")
				return r
			},
		},
	})
}

func TestParse(t *testing.T) {
	s, _ := New(secret, 0)
	evs, err := s.Parse(signed("event_alert")(hookstest.Fixture(t, "event_alert.triggered.json")))
	require.NoError(t, err)
	e := evs[0]
	require.Equal(t, "alert.sentry", e.Tag)
	require.Equal(t, "Very Important Alert Rule!: ReferenceError: heck is not defined", e.Title)
	require.Equal(t, event.Warning, e.Severity)
	require.Equal(t, "error", e.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "sentry:event:e4874d664c3540c1a32eab185f12c5ab", e.Fingerprint)
	require.Equal(t, time.Date(2019, 8, 19, 21, 6, 17, 677e6, time.UTC), e.Time)

	evs, err = s.Parse(signed("metric_alert")(hookstest.Fixture(t, "metric_alert.critical.constructed.json")))
	require.NoError(t, err)
	require.Equal(t, event.Critical, evs[0].Severity)
	require.Equal(t, "Critical: p95 latency over 2s", evs[0].Title)
	require.Equal(t, "sentry:metric_alert:17", evs[0].Fingerprint)

	evs, err = s.Parse(signed("issue")(hookstest.Fixture(t, "issue.resolved.constructed.json")))
	require.NoError(t, err)
	require.Equal(t, event.Resolved, evs[0].Status)
	require.Equal(t, "sentry:issue:1117540176", evs[0].Fingerprint)

	for level, want := range map[string]event.Severity{"fatal": event.Critical, "error": event.Warning, "warning": event.Warning, "info": event.Info, "debug": event.Info} {
		require.Equal(t, want, Severity(level), level)
	}
}

func TestMalformedAndIgnored(t *testing.T) {
	s, _ := New(secret, 0)
	for _, tc := range []struct{ res, body, want string }{
		{"", `{"action":"triggered"}`, "missing header Sentry-Hook-Resource"},
		{"event_alert", `{"data":{}}`, "missing required field action"},
		{"event_alert", `{"action":"triggered","data":{}}`, "missing required field data.event"},
		{"event_alert", `{"action":"triggered","data":{"event":{"level":"error"}}}`, "data.event.title"},
		{"metric_alert", `{"action":"critical","data":{}}`, "data.metric_alert.id"},
		{"issue", `{"action":"created","data":{"issue":{}}}`, "data.issue.id"},
	} {
		r := signed(tc.res)([]byte(tc.body))
		if tc.res == "" {
			r.Header.Del(ResourceHeader)
		}
		_, err := s.Parse(r)
		require.ErrorIs(t, err, hooks.ErrMalformed, tc.body)
		require.ErrorContains(t, err, tc.want, tc.body)
	}
	for _, tc := range []struct{ res, body string }{
		{"installation", `{"action":"created"}`},
		{"issue", `{"action":"assigned","data":{"issue":{"id":"1"}}}`},
		{"metric_alert", `{"action":"dismissed","data":{"metric_alert":{"id":"1"}}}`},
	} {
		_, err := s.Parse(signed(tc.res)([]byte(tc.body)))
		var ign *hooks.Ignored
		require.ErrorAs(t, err, &ign, tc.body)
	}
}
