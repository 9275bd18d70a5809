package newrelic

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const token = "nr-token-6b0c"

func bearer(tok string) hookstest.Sign {
	return func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer "+tok) }
}

func TestSuite(t *testing.T) {
	s, err := New(token)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "newrelic", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "workflow.activated.constructed.json"), Sign: bearer(token),
		Forge: map[string]hookstest.Sign{
			"wrong token":  bearer("nr-token-6b0d"),
			"token header": func(b []byte) *hooks.Request { return hookstest.Req(b, hooks.TokenHeader, "x") },
		},
	})
}

func TestParse(t *testing.T) {
	s, _ := New(token)
	evs, err := s.Parse(bearer(token)(hookstest.Fixture(t, "workflow.activated.constructed.json")))
	require.NoError(t, err)
	a := evs[0]
	require.Equal(t, "alert.newrelic", a.Tag)
	require.Equal(t, event.Firing, a.Status)
	require.Equal(t, event.Critical, a.Severity)
	require.Equal(t, "CRITICAL", a.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "Memory Used % > 90 for at least 2 minutes on 'checkout'", a.Title)
	require.Equal(t, "Impacted: checkout", a.Text)
	require.Equal(t, "Memory high", a.Labels["condition"])
	require.Equal(t, time.UnixMilli(1763801820000).UTC(), a.Time)

	evs, err = s.Parse(bearer(token)(hookstest.Fixture(t, "workflow.closed.constructed.json")))
	require.NoError(t, err)
	require.Equal(t, event.Resolved, evs[0].Status)
	require.Equal(t, a.Fingerprint, evs[0].Fingerprint)

	evs, err = s.Parse(bearer(token)(hookstest.Fixture(t, "legacy.open.constructed.json")))
	require.NoError(t, err)
	l := evs[0]
	require.Equal(t, "Error percentage > 5 on api", l.Title)
	require.Equal(t, event.Critical, l.Severity)
	require.Equal(t, "newrelic:incident:5001", l.Fingerprint)
	require.Equal(t, event.Firing, l.Status)

	for prio, want := range map[string]event.Severity{"HIGH": event.Critical, "MEDIUM": event.Warning, "LOW": event.Info, "": event.Warning} {
		evs, err := s.Parse(bearer(token)([]byte(`{"issueId":"i","state":"CREATED","priority":"` + prio + `"}`)))
		require.NoError(t, err)
		require.Equal(t, want, evs[0].Severity, prio)
	}
}

func TestMalformed(t *testing.T) {
	s, _ := New(token)
	for body, want := range map[string]string{
		`{"state":"ACTIVATED"}`:            "missing required field id",
		`{"id":"x"}`:                       "missing required field state",
		`{"incident_id":5}`:                "missing required field current_state",
		`{"id":"x","state":"A","title":5}`: "field title",
	} {
		_, err := s.Parse(bearer(token)([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
}
