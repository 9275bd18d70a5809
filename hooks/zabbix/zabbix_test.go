package zabbix

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const token = "zbx-token-1c7"

func bearer(tok string) hookstest.Sign {
	return func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer "+tok) }
}

func TestSuite(t *testing.T) {
	s, err := New(token)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "zabbix", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "problem.constructed.json"), Sign: bearer(token),
		Forge: map[string]hookstest.Sign{"wrong token": bearer("zbx-token-1c8"), "empty bearer": bearer("")},
	})
}

func TestProblemAndRecovery(t *testing.T) {
	s, _ := New(token)
	evs, err := s.Parse(bearer(token)(hookstest.Fixture(t, "problem.constructed.json")))
	require.NoError(t, err)
	p := evs[0]
	require.Equal(t, "alert.zabbix", p.Tag)
	require.Equal(t, event.Firing, p.Status)
	require.Equal(t, event.Critical, p.Severity)
	require.Equal(t, "Disaster", p.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "db-replica-2: MySQL: Replication is not running", p.Title)
	require.Equal(t, "mysql", p.Labels["service"])
	require.Equal(t, "db-replica-2", p.Labels["host"])

	evs, err = s.Parse(bearer(token)(hookstest.Fixture(t, "recovery.constructed.json")))
	require.NoError(t, err)
	r := evs[0]
	require.Equal(t, event.Resolved, r.Status)
	require.Equal(t, p.Fingerprint, r.Fingerprint, "the recovery clears the problem")
}

func TestSeverityMapping(t *testing.T) {
	for _, tc := range []struct {
		name, n string
		want    event.Severity
	}{
		{"Disaster", "5", event.Critical}, {"High", "4", event.Critical},
		{"Average", "3", event.Warning}, {"Warning", "2", event.Warning},
		{"Information", "1", event.Info}, {"Not classified", "0", event.Info},
		{"", "5", event.Critical}, {"", "0", event.Info}, {"custom", "", event.Warning},
	} {
		require.Equal(t, tc.want, Severity(tc.name, tc.n), "%s/%s", tc.name, tc.n)
	}
}

func TestMalformed(t *testing.T) {
	s, _ := New(token)
	for body, want := range map[string]string{
		`{"event_name":"x","event_value":"1"}`:                                             "missing required field event_id",
		`{"event_id":"1","event_value":"1"}`:                                               "missing required field event_name",
		`{"event_id":"1","event_name":"x"}`:                                                "missing required field event_value",
		`{"event_id":"1","event_name":"x","event_value":"2"}`:                              "neither 1 (problem) nor 0",
		`{"event_id":"1","event_name":"x","event_value":"1","event_tags":"service:mysql"}`: "field event_tags",
	} {
		_, err := s.Parse(bearer(token)([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	evs, err := s.Parse(bearer(token)([]byte(`{"event_id":"9","event_name":"x","event_status":"PROBLEM","event_update_status":"1","event_update_action":"acknowledged"}`)))
	require.NoError(t, err)
	require.Equal(t, "updated: x (acknowledged)", evs[0].Title)
}
