package fleet

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
)

func recordScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("testdata/record.sh")
	require.NoError(t, err)
	return p
}

func TestArgvAction(t *testing.T) {
	t.Setenv("OPSBOT_SECRET_TOKEN", "must-not-leak")
	a := &Action{Argv: []string{recordScript(t), "ok", "{instance}", "--by={user}", "{nope}", "a b; rm -rf /"}}
	res, err := Runner{}.Run(context.Background(), a, Vars{"instance": "api-blue", "user": "alice"})
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		"arg: ok", "arg: api-blue", "arg: --by=alice", "arg: {nope}", "arg: a b; rm -rf /",
		"OPSBOT_INSTANCE=api-blue", "OPSBOT_USER=alice",
		"secret: none",
	}, "\n"), res.Output, "one argv element is one argument, no shell; opsbot's own environment stays out")
	assert.Contains(t, res.What, "record.sh ok api-blue --by=alice")

	res, err = Runner{}.Run(context.Background(), &Action{Argv: []string{recordScript(t), "fail"}}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited with status 3")
	assert.Contains(t, res.Output, "it broke")

	_, err = Runner{}.Run(context.Background(), &Action{Argv: []string{"/nonexistent/restart"}}, nil)
	assert.ErrorContains(t, err, "run /nonexistent/restart")
}

func TestArgvActionTimeoutKillsTheGroup(t *testing.T) {
	start := time.Now()
	_, err := Runner{Timeout: 200 * time.Millisecond}.Run(context.Background(), &Action{Argv: []string{recordScript(t), "hang"}}, nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "no result within 200ms")
	assert.Less(t, time.Since(start), 5*time.Second, "the background sleep holding the output was killed with its group")
}

func TestSystemdAndKubectlActions(t *testing.T) {
	bin, err := filepath.Abs("testdata/fakebin")
	require.NoError(t, err)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	sd := &Action{Systemd: &Systemd{Host: "deploy@web1", Unit: "api-blue.service"}}
	assert.Equal(t, []string{"ssh", "-o", "BatchMode=yes", "deploy@web1", "systemctl", "restart", "api-blue.service"}, sd.Command(nil))
	res, err := Runner{}.Run(context.Background(), sd, nil)
	require.NoError(t, err)
	assert.Equal(t, "ssh -o BatchMode=yes deploy@web1 systemctl restart api-blue.service", res.Output)

	k := &Action{Kubectl: &Kubectl{Deployment: "api-green", Namespace: "prod", Context: "eu-1"}}
	assert.Equal(t, []string{"kubectl", "--context", "eu-1", "--namespace", "prod", "rollout", "restart", "deployment/api-green"}, k.Command(nil))
	res, err = Runner{}.Run(context.Background(), k, nil)
	require.NoError(t, err)
	assert.Contains(t, res.Output, "deployment.apps/api-green restarted")
	assert.Equal(t, []string{"kubectl", "rollout", "restart", "statefulset/db"}, (&Action{Kubectl: &Kubectl{Deployment: "statefulset/db"}}).Command(nil))
}

func TestHTTPAction(t *testing.T) {
	type got struct{ method, path, auth, ctype, body string }
	reqs := make(chan got, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs <- got{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		if strings.Contains(r.URL.Path, "broken") {
			http.Error(w, "backend pool is locked", http.StatusConflict)
			return
		}
		_, _ = io.WriteString(w, "switched\n")
	}))
	defer srv.Close()

	a := &Action{HTTP: &HTTPCall{URL: srv.URL + "/pools/{app}/active/{colour}", Body: `{"by": "{user}"}`,
		Headers: map[string]config.Secret{"Authorization": "Bearer tok-123"}}}
	res, err := Runner{}.Run(context.Background(), a, Vars{"app": "api", "colour": "green", "user": `al"ice`})
	require.NoError(t, err)
	assert.Equal(t, got{"POST", "/pools/api/active/green", "Bearer tok-123", "application/json", `{"by": "al\"ice"}`}, <-reqs)
	assert.Equal(t, "switched", res.Output)
	assert.Equal(t, "POST "+srv.URL+"/pools/api/active/green", res.What)
	assert.NotContains(t, a.Describe(Vars{"app": "api"}), "tok-123")

	a.HTTP.URL = srv.URL + "/broken/{app}"
	res, err = Runner{}.Run(context.Background(), a, Vars{"app": "a b"})
	require.Error(t, err)
	assert.Equal(t, "/broken/a%20b", (<-reqs).path, "values are path-escaped")
	assert.Contains(t, err.Error(), "HTTP 409")
	assert.Equal(t, "backend pool is locked", res.Output)
	assert.NotContains(t, err.Error(), "tok-123")
}

func TestTail(t *testing.T) {
	tl := &tail{max: 5}
	_, _ = tl.Write([]byte("abc"))
	_, _ = tl.Write([]byte("defgh"))
	assert.Equal(t, "…defgh", tl.String())
}
