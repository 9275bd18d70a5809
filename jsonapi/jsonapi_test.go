package jsonapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type vendorError struct{ status int }

func (e vendorError) Error() string { return fmt.Sprintf("HTTP %d", e.status) }

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Key s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			_ = json.NewEncoder(w).Encode(map[string]string{"got": string(b), "q": r.URL.Query().Get("q")})
		case "/garbage":
			_, _ = w.Write([]byte("<html>"))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c := Client{Name: "test API", Base: srv.URL, HTTP: srv.Client(),
		Header: func(h http.Header) { h.Set("Authorization", "Key s3cret") },
		Error:  func(status int, _ []byte) error { return vendorError{status} }}

	var out map[string]string
	require.NoError(t, c.Do(t.Context(), http.MethodPost, "/echo", url.Values{"q": {"x y"}}, map[string]int{"a": 1}, &out))
	assert.Equal(t, map[string]string{"got": `{"a":1}`, "q": "x y"}, out)

	var ve vendorError
	require.ErrorAs(t, c.Do(t.Context(), http.MethodGet, "/missing", nil, nil, nil), &ve)
	assert.Equal(t, http.StatusNotFound, ve.status)

	err := c.Do(t.Context(), http.MethodGet, "/garbage", nil, nil, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test API: GET /garbage: decode")

	noAuth := c
	noAuth.Header, noAuth.Error = nil, nil
	err = noAuth.Do(t.Context(), http.MethodGet, "/echo", nil, nil, nil)
	require.EqualError(t, err, "test API: GET /echo: HTTP 401")

	down := c
	down.Base = "http://127.0.0.1:1"
	err = down.Do(t.Context(), http.MethodGet, "/echo", nil, nil, nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "test API: GET /echo: "), err.Error())
	assert.NotContains(t, err.Error(), "s3cret")
	assert.False(t, errors.As(err, &ve))
}
