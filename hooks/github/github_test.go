package github

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const secret = "gh-webhook-secret-4821"

func sign(kind string) hookstest.Sign {
	return func(body []byte) *hooks.Request {
		return hookstest.Req(body, SignatureHeader, "sha256="+hookstest.HexHMAC(secret, body), EventHeader, kind, DeliveryHeader, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	}
}

func TestDocumentedSignatureVector(t *testing.T) {
	// github/docs: validating-webhook-deliveries.md, "Testing the webhook payload validation".
	s, err := New("It's a Secret to Everybody")
	require.NoError(t, err)
	r := hookstest.Req([]byte("Hello, World!"), SignatureHeader, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	require.NoError(t, s.Verify(r))
	r.Body = []byte("Hello, World?")
	require.ErrorIs(t, s.Verify(r), hooks.ErrUnauthorized)
}

func TestSuite(t *testing.T) {
	s, err := New(secret)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "github", Source: s, Secrets: []string{secret}, BodySigned: true,
		Valid: hookstest.Fixture(t, "push.branch_with_commit.json"), Sign: sign("push"),
		Forge: map[string]hookstest.Sign{
			"wrong secret": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, "sha256="+hookstest.HexHMAC("not-the-secret", b), EventHeader, "push")
			},
			"sha1 only": func(b []byte) *hooks.Request {
				return hookstest.Req(b, "X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567", EventHeader, "push")
			},
			"no prefix": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, hookstest.HexHMAC(secret, b), EventHeader, "push")
			},
			"truncated": func(b []byte) *hooks.Request {
				return hookstest.Req(b, SignatureHeader, "sha256="+hookstest.HexHMAC(secret, b)[:40], EventHeader, "push")
			},
		},
	})
}

func TestParse(t *testing.T) {
	s, _ := New(secret)
	for _, tc := range []struct {
		file, kind string
		tag        string
		severity   event.Severity
		title      string
		labels     map[string]string
		text       string
	}{
		{"push.branch_with_commit.json", "push", "github.push", event.Info,
			"Codertocat pushed 1 commit to master in Codertocat/Hello-World (new branch)",
			map[string]string{"branch": "master", "repo": "Codertocat/Hello-World"}, "- 6113728 Initial commit (Codertocat)"},
		{"push.tag_deleted.json", "push", "github.push", event.Info,
			"Codertocat deleted tag simple-tag in Codertocat/Hello-World", map[string]string{"tag": "simple-tag"}, ""},
		{"pull_request.opened.json", "pull_request", "github.pull_request", event.Info,
			"Codertocat opened pull request #2 in Codertocat/Hello-World: Update the README with new information.",
			map[string]string{"action": "opened", "number": "2", "branch": "changes", "base": "master"}, "This is a pretty simple change that we need to pull into master."},
		{"deployment.created.json", "deployment", "deploy.github.deployment", event.Info,
			"Codertocat started deploying Codertocat/Hello-World@master to production", map[string]string{"environment": "production", "task": "deploy"}, ""},
		{"deployment_status.json", "deployment_status", "deploy.github.deployment_status", event.Info,
			"deployment of Codertocat/Hello-World@master to production: success",
			map[string]string{"environment": "production", "state": "success", hooks.LabelSourceSeverity: "success"}, ""},
		{"status.json", "status", "ci.github.status", event.Info,
			"Codertocat/Hello-World default at 6113728: success", map[string]string{"context": "default", hooks.LabelSourceSeverity: "success"}, ""},
		{"check_suite.completed.json", "check_suite", "ci.github.check_suite", event.Info,
			"Codertocat/Hello-World checks (octocoders-linter) on changes: success", map[string]string{"conclusion": "success"}, ""},
		{"workflow_run.completed.json", "workflow_run", "ci.github.workflow_run", event.Info,
			"octo-org/octo-repo test #163 on master: success", map[string]string{"conclusion": "success", "workflow": "test"}, ""},
		{"release.published.with_notes.json", "release", "release.github", event.Info,
			"Codertocat/Hello-World 0.0.1 released: First release", map[string]string{"version": "0.0.1"},
			"## What changed\n\n- faster deploys\n- fixed the login bug"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := sign(tc.kind)(hookstest.Fixture(t, tc.file))
			require.NoError(t, s.Verify(r))
			evs, err := s.Parse(r)
			require.NoError(t, err)
			require.Len(t, evs, 1)
			e := evs[0]
			require.Equal(t, tc.tag, e.Tag)
			require.Equal(t, tc.severity, e.Severity)
			require.Equal(t, event.Firing, e.Status)
			require.Equal(t, tc.title, e.Title)
			require.Equal(t, tc.text, e.Text)
			require.Equal(t, "72d3162e-cc78-11e3-81ab-4c9367dc0958", e.Fingerprint, "the delivery ID is the dedup key")
			for k, v := range tc.labels {
				require.Equal(t, v, e.Labels[k], "label %s", k)
			}
		})
	}
}

func TestFailureSeverities(t *testing.T) {
	s, _ := New(secret)
	for _, tc := range []struct {
		kind, body string
		want       event.Severity
	}{
		{"deployment_status", `{"repository":{"full_name":"o/r"},"deployment_status":{"state":"failure","environment":"prod"},"deployment":{"ref":"main","environment":"prod"}}`, event.Critical},
		{"deployment_status", `{"repository":{"full_name":"o/r"},"deployment_status":{"state":"error","environment":"prod"}}`, event.Critical},
		{"status", `{"repository":{"full_name":"o/r"},"sha":"abc","state":"failure","context":"ci"}`, event.Warning},
		{"check_suite", `{"action":"completed","repository":{"full_name":"o/r"},"check_suite":{"conclusion":"timed_out"}}`, event.Warning},
		{"workflow_run", `{"action":"completed","repository":{"full_name":"o/r"},"workflow_run":{"name":"CI","conclusion":"failure"}}`, event.Warning},
	} {
		evs, err := s.Parse(sign(tc.kind)([]byte(tc.body)))
		require.NoError(t, err, tc.body)
		require.Equal(t, tc.want, evs[0].Severity, tc.body)
	}
	evs, err := s.Parse(sign("deployment_status")([]byte(`{"repository":{"full_name":"o/r"},"deployment_status":{"state":"error","environment":"prod"}}`)))
	require.NoError(t, err)
	require.Equal(t, "deployment of o/r to prod: error", evs[0].Title)
}

func TestMalformedAndIgnored(t *testing.T) {
	s, _ := New(secret)
	for _, tc := range []struct {
		name, kind, body, want string
		ignored                bool
	}{
		{"no event header", "", `{"repository":{"full_name":"o/r"}}`, "missing header X-GitHub-Event", false},
		{"not JSON", "push", `ref=refs/heads/main`, "invalid JSON", false},
		{"no repository", "push", `{"ref":"refs/heads/main"}`, "missing required field repository.full_name", false},
		{"push without ref", "push", `{"repository":{"full_name":"o/r"}}`, "missing required field ref", false},
		{"status without state", "status", `{"repository":{"full_name":"o/r"},"sha":"abc"}`, "missing required field state", false},
		{"wrong type", "pull_request", `{"repository":{"full_name":"o/r"},"number":"two"}`, "field number", false},
		{"deployment_status without state", "deployment_status", `{"repository":{"full_name":"o/r"},"deployment_status":{}}`, "deployment_status.state", false},
		{"ping", "ping", `{"zen":"Keep it logically awesome."}`, `"ping"`, true},
		{"unmapped", "star", `{"action":"created"}`, `"star"`, true},
		{"requested check suite", "check_suite", `{"action":"requested","repository":{"full_name":"o/r"},"check_suite":{}}`, "only completed", true},
		{"draft release", "release", `{"action":"created","repository":{"full_name":"o/r"},"release":{"tag_name":"v1"}}`, "only published", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Parse(sign(tc.kind)([]byte(tc.body)))
			require.ErrorContains(t, err, tc.want)
			var ign *hooks.Ignored
			require.Equal(t, tc.ignored, errorsAs(err, &ign))
			if !tc.ignored {
				require.ErrorIs(t, err, hooks.ErrMalformed)
			}
		})
	}
}

func TestIgnoredAnswers202(t *testing.T) {
	s, _ := New(secret)
	srv := hookstest.NewServer("github", s)
	code, resp, raw := srv.Do(t, "github", sign("ping")([]byte(`{"zen":"Design for failure."}`)))
	require.Equal(t, 202, code, raw)
	require.Contains(t, resp.Ignored, "ping")
	require.Empty(t, srv.Rec.All())
}

func TestNew(t *testing.T) {
	_, err := New("")
	require.Error(t, err)
}
