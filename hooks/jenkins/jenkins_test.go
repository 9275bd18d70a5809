package jenkins

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const token = "jenkins-token-0f3a"

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
		Name: "jenkins", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "notification.completed.json"), Sign: inQuery(token),
		Forge: map[string]hookstest.Sign{
			"wrong token":  inQuery("jenkins-token-0f3b"),
			"empty token":  inQuery(""),
			"wrong header": func(b []byte) *hooks.Request { return hookstest.Req(b, hooks.TokenHeader, "nope") },
		},
	})
	require.NoError(t, s.Verify(hookstest.Req(nil, hooks.TokenHeader, token)), "the header works too")
}

func TestParse(t *testing.T) {
	s, _ := New(token)
	evs, err := s.Parse(inQuery(token)(hookstest.Fixture(t, "notification.completed.json")))
	require.NoError(t, err)
	require.Len(t, evs, 1)
	e := evs[0]
	require.Equal(t, "ci.jenkins.build", e.Tag)
	require.Equal(t, "asgard #18: SUCCESS", e.Title)
	require.Equal(t, event.Info, e.Severity)
	require.Equal(t, "SUCCESS", e.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "master", e.Labels["branch"])
	require.Equal(t, "jenkins:asgard#18:COMPLETED", e.Fingerprint)
	require.Equal(t, "http://localhost:8080/job/asgard/18/", e.Links[0].URL)

	for status, want := range map[string]event.Severity{"FAILURE": event.Warning, "UNSTABLE": event.Warning, "ABORTED": event.Info, "WEIRD": event.Warning} {
		evs, err := s.Parse(inQuery(token)([]byte(`{"name":"api","build":{"number":3,"phase":"COMPLETED","status":"` + status + `","duration":61500}}`)))
		require.NoError(t, err)
		require.Equal(t, want, evs[0].Severity, status)
		require.Equal(t, "api #3: "+status+" in 1m2s", evs[0].Title)
	}
	evs, err = s.Parse(inQuery(token)([]byte(`{"name":"api","build":{"number":4,"phase":"STARTED","timestamp":1763802000000}}`)))
	require.NoError(t, err)
	require.Equal(t, "api #4 started", evs[0].Title)
	require.Equal(t, int64(1763802000000), evs[0].Time.UnixMilli())
}

func TestMalformedAndIgnored(t *testing.T) {
	s, _ := New(token)
	for body, want := range map[string]string{
		`{"build":{"number":1,"phase":"STARTED"}}`: "missing required field name",
		`{"name":"x"}`:                                            "missing required field build",
		`{"name":"x","build":{"number":1}}`:                       "missing required field build.phase",
		`{"name":"x","build":{"phase":"STARTED"}}`:                "missing required field build.number",
		`{"name":"x","build":{"number":1,"phase":"COMPLETED"}}`:   "missing required field build.status",
		`{"name":"x","build":{"number":1,"phase":"RUNNING"}}`:     `unknown build.phase "RUNNING"`,
		`{"name":"x","build":{"number":"one","phase":"STARTED"}}`: "field build.number",
	} {
		_, err := s.Parse(inQuery(token)([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	for _, phase := range []string{"QUEUED", "FINALIZED"} {
		_, err := s.Parse(inQuery(token)([]byte(`{"name":"x","build":{"number":1,"phase":"` + phase + `","status":"SUCCESS"}}`)))
		var ign *hooks.Ignored
		require.ErrorAs(t, err, &ign, phase)
	}
}
