package heroku

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/deploy/provider"
)

// fakeHeroku follows the Platform API reference for Source (create) and
// Build (create, info): a source's put_url takes the tarball, a build
// starts "pending" with an output_stream_url and ends "succeeded" or
// "failed".
type fakeHeroku struct {
	*httptest.Server
	mu      sync.Mutex
	blob    []byte
	version string
	polls   int
	final   string
}

func newFake(t *testing.T, final string) *fakeHeroku {
	f := &fakeHeroku{final: final}
	mux := http.NewServeMux()
	api := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept") != "application/vnd.heroku+json; version=3" || r.Header.Get("Authorization") != "Bearer hk-key-1" {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"id":"unauthorized","message":"Invalid credentials provided."}`)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			h(w, r)
		}
	}
	mux.HandleFunc("POST /apps/api-prod/sources", api(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"source_blob":{"get_url":"%[1]s/blob/get?sig=x","put_url":"%[1]s/blob/put?sig=y"}}`, f.URL)
	}))
	mux.HandleFunc("PUT /blob/put", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.blob = b
		f.mu.Unlock()
	})
	mux.HandleFunc("POST /apps/api-prod/builds", api(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			SourceBlob struct{ URL, Version string } `json:"source_blob"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.SourceBlob.URL != f.URL+"/blob/get?sig=x" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"id":"invalid_params","message":"source_blob.url is invalid"}`)
			return
		}
		f.mu.Lock()
		f.version = body.SourceBlob.Version
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"01234567-89ab-cdef-0123-456789abcdef","status":"pending","output_stream_url":"%s/streams/build.log","source_blob":{"version":%q}}`, f.URL, body.SourceBlob.Version)
	}))
	mux.HandleFunc("GET /streams/build.log", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "-----> Building on the Heroku-24 stack\n-----> Go app detected\n-----> Launching...\n")
	})
	mux.HandleFunc("GET /apps/api-prod/builds/01234567-89ab-cdef-0123-456789abcdef", api(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.polls++
		st := "pending"
		if f.polls > 1 {
			st = f.final
		}
		f.mu.Unlock()
		fmt.Fprintf(w, `{"id":"01234567-89ab-cdef-0123-456789abcdef","status":%q}`, st)
	}))
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func checkout(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("x"), 0o644))
	return dir
}

func TestBuildFromASourceTarball(t *testing.T) {
	for _, tc := range []struct{ final, err string }{{"succeeded", ""}, {"failed", "build 01234567-89ab-cdef-0123-456789abcdef failed"}} {
		t.Run(tc.final, func(t *testing.T) {
			f := newFake(t, tc.final)
			p, err := New(Config{App: "api-prod", APIKey: config.Secret("hk-key-1"), APIURL: f.URL, PollInterval: 5 * time.Millisecond}, nil)
			require.NoError(t, err)
			var out strings.Builder
			err = p.Deploy(context.Background(), provider.Request{Ref: "main", SHA: "abc123", Dir: checkout(t)}, &out)
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
			require.Contains(t, out.String(), "-----> Go app detected")
			f.mu.Lock()
			defer f.mu.Unlock()
			require.Equal(t, "abc123", f.version)
			names := tarNames(t, f.blob)
			require.Equal(t, []string{"main.go"}, names, ".git is left out")
		})
	}
}

func TestNeedsACheckout(t *testing.T) {
	p, err := New(Config{App: "a", APIKey: config.Secret("k")}, nil)
	require.NoError(t, err)
	require.ErrorContains(t, p.Deploy(context.Background(), provider.Request{}, io.Discard), "needs a checkout")
	_, err = New(Config{App: "a"}, nil)
	require.ErrorContains(t, err, "api_key is required")
}

func tarNames(t *testing.T, blob []byte) []string {
	gz, err := gzip.NewReader(bytes.NewReader(blob))
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
}
