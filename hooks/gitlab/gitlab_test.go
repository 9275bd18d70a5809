package gitlab

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const token = "gl-secret-token-81"

func signed(kind string) hookstest.Sign {
	return func(b []byte) *hooks.Request {
		return hookstest.Req(b, TokenHeader, token, EventHeader, kind, UUIDHeader, "13792a34-cac6-4fda-95a8-c58e00a3954e")
	}
}

func TestSuite(t *testing.T) {
	s, err := New(token)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "gitlab", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "pipeline.json"), Sign: signed("Pipeline Hook"),
		Forge: map[string]hookstest.Sign{
			"wrong token":  func(b []byte) *hooks.Request { return hookstest.Req(b, TokenHeader, "gl-secret-token-82") },
			"token prefix": func(b []byte) *hooks.Request { return hookstest.Req(b, TokenHeader, token[:5]) },
			"token in query": func(b []byte) *hooks.Request {
				r := hookstest.Req(b)
				r.Query.Set("token", token)
				return r
			},
		},
	})
}

func TestParse(t *testing.T) {
	s, _ := New(token)
	for _, tc := range []struct {
		file, kind, tag string
		sev             event.Severity
		title, text     string
		labels          map[string]string
	}{
		{"pipeline.json", "Pipeline Hook", "ci.gitlab.pipeline", event.Info,
			"gitlab-org/gitlab-test pipeline #31 on master: success in 63s", "",
			map[string]string{"status": "success", hooks.LabelSourceSeverity: "success", "project": "gitlab-org/gitlab-test"}},
		{"deployment.json", "Deployment Hook", "deploy.gitlab.deployment", event.Info,
			"deployment of root/test-deployment-webhooks@279484c0 to staging: success", "Add new file",
			map[string]string{"environment": "staging", "user": "root"}},
		{"push.constructed.json", "Push Hook", "gitlab.push", event.Info,
			"jsmith pushed 2 commits to master in mike/diaspora",
			"- b6568db1 Update Catalan translation to e38cb41. (Jordi Mallach)\n- da156088 fixed readme (GitLab dev user)",
			map[string]string{"branch": "master"}},
		{"merge_request.constructed.json", "Merge Request Hook", "gitlab.merge_request", event.Info,
			"root opened merge request !1 in gitlabhq/gitlab-test: MS-Viewport", "Adds the viewport meta tag.",
			map[string]string{"action": "open", "branch": "ms-viewport", "base": "master"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			evs, err := s.Parse(signed(tc.kind)(hookstest.Fixture(t, tc.file)))
			require.NoError(t, err)
			require.Len(t, evs, 1)
			e := evs[0]
			require.Equal(t, tc.tag, e.Tag)
			require.Equal(t, tc.sev, e.Severity)
			require.Equal(t, tc.title, e.Title)
			require.Equal(t, tc.text, e.Text)
			require.Equal(t, "gitlab:13792a34-cac6-4fda-95a8-c58e00a3954e", e.Fingerprint)
			for k, v := range tc.labels {
				require.Equal(t, v, e.Labels[k], k)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	s, _ := New(token)
	evs, err := s.Parse(signed("Pipeline Hook")([]byte(`{"object_kind":"pipeline","project":{"path_with_namespace":"g/p"},"object_attributes":{"id":7,"ref":"main","status":"failed"}}`)))
	require.NoError(t, err)
	require.Equal(t, event.Warning, evs[0].Severity)
	evs, err = s.Parse(signed("Deployment Hook")([]byte(`{"object_kind":"deployment","project":{"path_with_namespace":"g/p"},"status":"failed","environment":"production"}`)))
	require.NoError(t, err)
	require.Equal(t, event.Critical, evs[0].Severity)
	require.Equal(t, "failed", evs[0].Labels[hooks.LabelSourceSeverity])
}

func TestMalformedAndIgnored(t *testing.T) {
	s, _ := New(token)
	for body, want := range map[string]string{
		`{"project":{}}`: "missing required field object_kind",
		`{"object_kind":"pipeline","project":{"path_with_namespace":"g/p"}}`:                              "missing required field object_attributes",
		`{"object_kind":"pipeline","project":{"path_with_namespace":"g/p"},"object_attributes":{"id":1}}`: "object_attributes.status",
		`{"object_kind":"push","project":{"path_with_namespace":"g/p"}}`:                                  "missing required field ref",
		`{"object_kind":"push","ref":"refs/heads/x"}`:                                                     "project.path_with_namespace",
		`{"object_kind":"deployment","project":{"path_with_namespace":"g/p"},"status":"running"}`:         "missing required field environment",
		`{"object_kind":"pipeline","object_attributes":{"id":"x"}}`:                                       "field object_attributes.id",
	} {
		_, err := s.Parse(signed("x")([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	_, err := s.Parse(signed("Issue Hook")([]byte(`{"object_kind":"issue"}`)))
	var ign *hooks.Ignored
	require.ErrorAs(t, err, &ign)
	require.Contains(t, ign.Reason, "Issue Hook")
}
