package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/store"
)

func TestDeploymentsPages(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db string) {
		c := newConsoleDB(t, db, nil)
		c.addUser(t, "alice", "pw-alice-1")
		ctx := context.Background()
		j, err := c.st.CreateJob(ctx, store.Job{Kind: "deploy", Command: "deploy api/main to staging", UserName: "alice", State: "running", Started: time.Now()})
		require.NoError(t, err)
		require.NoError(t, c.st.AppendJobLog(ctx, j.ID, []byte("step 1 <b>\n")))
		recs := deploy.NewRecords(c.st.DB())
		d, err := recs.Create(ctx, deploy.Deployment{App: "api", Env: "staging", Ref: "main", SHA: "0123456789abcdef", Task: "deploy", User: "alice",
			Source: "chat", Provider: "shell", Created: time.Now()})
		require.NoError(t, err)
		require.NoError(t, recs.SetJob(ctx, d.ID, j.ID, ""))
		old, err := recs.Create(ctx, deploy.Deployment{App: "www", Env: "production", Ref: "v1", User: "bob", Provider: "shell", Created: time.Now()})
		require.NoError(t, err)
		_, err = recs.Finish(ctx, old.ID, deploy.StatusFailure, "exit 1", time.Now())
		require.NoError(t, err)

		cl := c.client(t)
		cl.login("alice", "pw-alice-1")
		code, body := cl.do("GET", "/deployments", nil, nil)
		require.Equal(t, http.StatusOK, code.StatusCode)
		require.Contains(t, body, `<a href="/deployments/`+fmt.Sprint(d.ID)+`">`)
		require.Contains(t, body, "<code>0123456</code>")
		require.Contains(t, body, "www")
		_, body = cl.do("GET", "/deployments?app=api&status=running", nil, nil)
		require.NotContains(t, body, "www")
		_, body = cl.do("GET", "/deployments?status=failure", nil, nil)
		require.Contains(t, body, "www")
		require.NotContains(t, body, "0123456")
		resp, _ := cl.do("GET", "/deployments?status=bogus", nil, nil)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)

		_, body = cl.do("GET", fmt.Sprintf("/deployments/%d", d.ID), nil, nil)
		require.Contains(t, body, "step 1 &lt;b&gt;", "the log, escaped")
		require.Contains(t, body, `data-final="false"`)
		require.Contains(t, body, `src="/static/deployments.js"`)
		resp, body = cl.do("GET", fmt.Sprintf("/deployments/%d/log", d.ID), nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var live struct {
			Status string
			Final  bool
			Log    string
		}
		require.NoError(t, json.Unmarshal([]byte(body), &live))
		require.Equal(t, "pending", live.Status)
		require.Equal(t, "step 1 <b>\n", live.Log)
		resp, _ = cl.do("GET", "/deployments/999", nil, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = cl.do("GET", "/static/deployments.js", nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
}
