package alertmanager

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const token = "am-token-93c1f0"

func bearer(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer "+token) }

func basic(user, pw string) hookstest.Sign {
	return func(b []byte) *hooks.Request {
		return hookstest.Req(b, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pw)))
	}
}

func TestSuite(t *testing.T) {
	for name, tc := range map[string]struct {
		user string
		sign hookstest.Sign
	}{
		"bearer": {"", bearer},
		"basic":  {"alertmanager", basic("alertmanager", token)},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := New(token, tc.user)
			require.NoError(t, err)
			forge := map[string]hookstest.Sign{
				"wrong bearer":        func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer nope-nope") },
				"wrong basic pw":      basic("alertmanager", "guess"),
				"token as basic user": basic(token, ""),
				"other scheme":        func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Token "+token) },
			}
			if tc.user != "" {
				forge["wrong basic user"] = basic("mallory", token)
			}
			hookstest.Run(t, hookstest.Suite{
				Name: "alertmanager", Source: s, Secrets: []string{token},
				Valid: hookstest.Fixture(t, "webhook.v4.firing_and_resolved.json"), Sign: tc.sign,
				Forge: forge,
			})
		})
	}
}

func TestParse(t *testing.T) {
	s, _ := New(token, "")
	evs, err := s.Parse(bearer(hookstest.Fixture(t, "webhook.v4.firing_and_resolved.json")))
	require.NoError(t, err)
	require.Len(t, evs, 2)

	f, r := evs[0], evs[1]
	require.Equal(t, "alert.alertmanager", f.Tag)
	require.Equal(t, event.Firing, f.Status)
	require.Equal(t, event.Critical, f.Severity)
	require.Equal(t, "critical", f.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "sda1", f.Labels["dev"])
	require.Equal(t, "chatops-webhook", f.Labels["receiver"])
	require.Equal(t, "DiskRunningFull: please check the instance example1", f.Title)
	require.Equal(t, "The disk sda1 is running full", f.Text)
	require.Equal(t, "alertmanager:3b4b3e8c6f6b1c2a", f.Fingerprint)
	require.Equal(t, time.Date(2026, 8, 20, 10, 15, 30, 123e6, time.UTC), f.Time)
	require.Equal(t, "source", f.Links[0].Title)

	require.Equal(t, event.Resolved, r.Status)
	require.Equal(t, "alertmanager:8f1d2a7e90c4b5d6", r.Fingerprint)
	require.Equal(t, time.Date(2026, 8, 20, 10, 14, 0, 0, time.UTC), r.Time, "a resolved alert is dated by its end")
}

func TestSeverityMapping(t *testing.T) {
	s, _ := New(token, "")
	for sev, want := range map[string]event.Severity{
		"critical": event.Critical, "page": event.Critical, "error": event.Critical,
		"warning": event.Warning, "": event.Warning, "odd": event.Warning,
		"info": event.Info, "none": event.Info,
	} {
		body := `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"X","severity":"` + sev + `"}}]}`
		evs, err := s.Parse(bearer([]byte(body)))
		require.NoError(t, err)
		require.Equal(t, want, evs[0].Severity, "severity %q", sev)
		require.NotEmpty(t, evs[0].Fingerprint, "an alert without fingerprint is keyed by its labels")
	}
}

func TestMalformed(t *testing.T) {
	s, _ := New(token, "")
	for body, want := range map[string]string{
		`{"status":"firing","alerts":[]}`:                                    "missing required field version",
		`{"version":"3","alerts":[]}`:                                        `unsupported payload version "3"`,
		`{"version":"4"}`:                                                    "missing required field alerts",
		`{"version":"4","alerts":[{"labels":{"a":"b"}}]}`:                    "alerts[0]: missing required field status",
		`{"version":"4","alerts":[{"status":"firing"}]}`:                     "alerts[0]: missing required field labels",
		`{"version":"4","alerts":[{"status":"pending","labels":{"a":"b"}}]}`: "neither firing nor resolved",
		`{"version":"4","alerts":"many"}`:                                    "field alerts",
		`[{"version":"4"}]`:                                                  "expected",
	} {
		_, err := s.Parse(bearer([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	_, err := s.Parse(bearer([]byte(`{"version":"4","alerts":[]}`)))
	var ign *hooks.Ignored
	require.ErrorAs(t, err, &ign)
}
