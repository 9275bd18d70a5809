package opsgenie

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const token = "og-token-2f9a"

func header(tok string) hookstest.Sign {
	return func(b []byte) *hooks.Request { return hookstest.Req(b, hooks.TokenHeader, tok) }
}

func TestSuite(t *testing.T) {
	s, err := New(token)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "opsgenie", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "webhook.create.json"), Sign: header(token),
		Forge: map[string]hookstest.Sign{"wrong token": header("og-token-2f9b")},
	})
}

func TestParse(t *testing.T) {
	s, _ := New(token)
	evs, err := s.Parse(header(token)(hookstest.Fixture(t, "webhook.create.json")))
	require.NoError(t, err)
	c := evs[0]
	require.Equal(t, "alert.opsgenie", c.Tag)
	require.Equal(t, "test alert", c.Title)
	require.Equal(t, event.Firing, c.Status)
	require.Equal(t, event.Warning, c.Severity, "no priority: Opsgenie's default P3")
	require.Equal(t, "opsgenie:052652ac-5d1c-464a-812a-7dd18bbfba8c", c.Fingerprint)
	require.Equal(t, "team1,team2", c.Labels["teams"])
	require.Equal(t, "1420452193166002000", c.Fields["updated_at"])

	evs, err = s.Parse(header(token)(hookstest.Fixture(t, "webhook.acknowledge.json")))
	require.NoError(t, err)
	a := evs[0]
	require.Equal(t, "fili@ifountain.com acknowledged: test alert", a.Title)
	require.Equal(t, "acknowledge", a.Labels["action"])
	require.Equal(t, c.Fingerprint, a.Fingerprint)
	require.Equal(t, "1420452224764002246", a.Fields["updated_at"], "above 2^53, kept exact")
	require.Equal(t, int64(1420452224764002246), a.Time.UnixNano())

	evs, err = s.Parse(header(token)([]byte(`{"action":"Close","alert":{"alertId":"x","message":"disk full","username":"bob","priority":"P1"}}`)))
	require.NoError(t, err)
	require.Equal(t, event.Resolved, evs[0].Status)
	require.Equal(t, event.Critical, evs[0].Severity)
	require.Equal(t, "P1", evs[0].Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "bob closed: disk full", evs[0].Title)
}

func TestMalformedAndIgnored(t *testing.T) {
	s, _ := New(token)
	for body, want := range map[string]string{
		`{"alert":{"alertId":"x","message":"m"}}`:                                      "missing required field action",
		`{"action":"Create"}`:                                                          "missing required field alert.alertId",
		`{"action":"Create","alert":{"alertId":"x","message":" "}}`:                    "missing required field alert.message",
		`{"action":"Create","alert":{"alertId":"x","message":"m","updatedAt":"soon"}}`: "invalid number",
	} {
		_, err := s.Parse(header(token)([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	_, err := s.Parse(header(token)([]byte(`{"action":"AddNote","alert":{"alertId":"x","message":"m"}}`)))
	var ign *hooks.Ignored
	require.ErrorAs(t, err, &ign)
}
