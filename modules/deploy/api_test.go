package deploy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/deploy"
	"github.com/opsbot/opsbot/httpapi"
	"github.com/opsbot/opsbot/store"
)

func (f *fixture) api(t *testing.T) string {
	srv := httpapi.New(nil, f.App.Registry)
	for _, r := range f.Bot.Bot.Routes() {
		if r.Scope != "" {
			srv.HandleAPI(r.Pattern, r.Scope, r.Handler)
		}
	}
	srv.SetReady(f.Store)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL + "/api/v1/deployments"
}

func (f *fixture) token(t *testing.T, name string, scopes ...string) string {
	return f.userToken(t, name, "", scopes...)
}

// userToken is a token bound to an opsbot user.
func (f *fixture) userToken(t *testing.T, name, user string, scopes ...string) string {
	tok, hash, err := httpapi.NewToken()
	require.NoError(t, err)
	_, err = f.Store.CreateToken(t.Context(), store.Token{Name: name, Hash: hash, Scopes: scopes, User: user})
	require.NoError(t, err)
	return tok
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPI(t *testing.T) {
	f := newFixture(t, fixtureOpt{})
	url := f.api(t)
	writer := f.token(t, "ci", "deployments:write", "deployments:read", "admin")
	reader := f.token(t, "dash", "deployments:read")
	bobs := f.userToken(t, "bobs-ci", "bob", "deployments:write")
	anyone := f.token(t, "unbound", "deployments:write")

	code, _ := call(t, http.MethodGet, url, "", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = call(t, http.MethodPost, url, reader, `{"app":"api","user":"alice"}`)
	require.Equal(t, http.StatusForbidden, code, "deployments:write is needed")

	for body, want := range map[string]string{
		`{"user":"alice"}`:                       "app: required",
		`{"app":"api"}`:                          "user: required",
		`{"app":"nope","user":"alice"}`:          `app: no app \"nope\"`,
		`{"app":"api","user":"zed"}`:             `user: no opsbot user \"zed\"`,
		`{"app":"api","user":"alice","x":1}`:     "unknown field",
		`{"app":"api","user":"alice","ref":"-x"`: "malformed body",
	} {
		code, got := call(t, http.MethodPost, url, writer, body)
		require.Equal(t, http.StatusBadRequest, code, body)
		require.Contains(t, got, want, body)
	}
	// The same checks as chat: bob may not deploy to production.
	code, got := call(t, http.MethodPost, url, writer, `{"app":"api","environment":"production","user":"bob"}`)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, got, "deploy:production")
	// A token bound to bob deploys as bob, and as nobody else.
	code, got = call(t, http.MethodPost, url, bobs, `{"app":"api","environment":"production"}`)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, got, "deploy:production", "bob's permissions apply")
	code, got = call(t, http.MethodPost, url, bobs, `{"app":"api","environment":"production","user":"alice"}`)
	require.Equal(t, http.StatusForbidden, code, "no impersonation")
	require.Contains(t, got, `this token acts as \"bob\"`)
	code, got = call(t, http.MethodPost, url, anyone, `{"app":"api","user":"alice"}`)
	require.Equal(t, http.StatusForbidden, code, "a token bound to nobody may not name a user")
	require.Contains(t, got, "acts as nobody")

	code, got = call(t, http.MethodPost, url, writer, `{"app":"api","environment":"stg","user":"alice","room":"test:ops"}`)
	require.Equal(t, http.StatusCreated, code, got)
	var created struct{ Deployment deploy.Deployment }
	require.NoError(t, json.Unmarshal([]byte(got), &created))
	require.Equal(t, "staging", created.Deployment.Env)
	require.Equal(t, "api", created.Deployment.Source)
	f.post("alice is deploying api/main to staging")
	d := f.waitStatus(created.Deployment.ID)
	require.Equal(t, deploy.StatusSuccess, d.Status)

	code, got = call(t, http.MethodGet, url+"?app=api&status=success", reader, "")
	require.Equal(t, http.StatusOK, code)
	var list struct{ Deployments []deploy.Deployment }
	require.NoError(t, json.Unmarshal([]byte(got), &list))
	require.Len(t, list.Deployments, 1)
	code, got = call(t, http.MethodGet, url+"/"+itoa(d.ID), reader, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, got, "deploying main")
	require.NotContains(t, got, "apikey-123456")
	code, _ = call(t, http.MethodGet, url+"?status=bogus", reader, "")
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = call(t, http.MethodGet, url+"/999", reader, "")
	require.Equal(t, http.StatusNotFound, code)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
