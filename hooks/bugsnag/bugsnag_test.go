package bugsnag

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const token = "bugsnag-token-4410"

func inQuery(tok string) hookstest.Sign {
	return func(b []byte) *hooks.Request {
		r := hookstest.Req(b)
		r.Query.Set("token", tok)
		return r
	}
}

func TestSuite(t *testing.T) {
	s, err := New(token)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "bugsnag", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "first_exception.constructed.json"), Sign: inQuery(token),
		Forge: map[string]hookstest.Sign{"wrong token": inQuery("bugsnag-token-4411")},
	})
}

func TestParse(t *testing.T) {
	s, _ := New(token)
	evs, err := s.Parse(inQuery(token)(hookstest.Fixture(t, "first_exception.constructed.json")))
	require.NoError(t, err)
	e := evs[0]
	require.Equal(t, "alert.bugsnag", e.Tag)
	require.Equal(t, "[My Test Project] NoMethodError: undefined method `name' for nil:NilClass", e.Title)
	require.Equal(t, event.Critical, e.Severity, "unhandled")
	require.Equal(t, "error", e.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "production", e.Labels["stage"])
	require.Equal(t, "bugsnag:56b9ca7f17025f8756f69056", e.Fingerprint)

	evs, err = s.Parse(inQuery(token)(hookstest.Fixture(t, "release.constructed.json")))
	require.NoError(t, err)
	require.Equal(t, "release.bugsnag", evs[0].Tag)
	require.Equal(t, "My Test Project 1.4.3 released to production", evs[0].Title)

	fixed := `{"project":{"name":"p"},"trigger":{"type":"errorStateManualChange"},"error":{"errorId":"e1","exceptionClass":"E","status":"fixed","severity":"warning"}}`
	evs, err = s.Parse(inQuery(token)([]byte(fixed)))
	require.NoError(t, err)
	require.Equal(t, event.Resolved, evs[0].Status)
	require.Equal(t, event.Warning, evs[0].Severity)

	evs, err = s.Parse(inQuery(token)([]byte(`{"project":{"name":"p"},"trigger":{"type":"projectSpiking","message":"spike in errors"}}`)))
	require.NoError(t, err)
	require.Equal(t, "[p] spike in errors", evs[0].Title)
}

func TestMalformed(t *testing.T) {
	s, _ := New(token)
	for body, want := range map[string]string{
		`{"project":{"name":"p"}}`:                                           "missing required field trigger.type",
		`{"trigger":{"type":"exception"}}`:                                   "missing required field project.name",
		`{"project":{"name":"p"},"trigger":{"type":"release"}}`:              "release.version",
		`{"project":{"name":"p"},"trigger":{"type":"exception"},"error":{}}`: "error.exceptionClass",
		`{"project":{"name":"p"},"trigger":{"type":"projectSpiking"}}`:       "trigger.message",
	} {
		_, err := s.Parse(inQuery(token)([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	_, err := s.Parse(inQuery(token)([]byte(`{"project":{"name":"p"},"trigger":{"type":"comment"}}`)))
	var ign *hooks.Ignored
	require.ErrorAs(t, err, &ign)
}
