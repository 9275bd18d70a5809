package tell

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
)

// server is a fake ingest API answering with code (202 stores the event).
type server struct {
	mu     sync.Mutex
	code   int
	got    []event.Event
	tokens []string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, r.Header.Get("Authorization"))
	var e event.Event
	_ = json.NewDecoder(r.Body).Decode(&e)
	w.WriteHeader(s.code)
	switch {
	case s.code == http.StatusAccepted:
		s.got = append(s.got, e)
		_ = json.NewEncoder(w).Encode(map[string][]string{"ids": {e.ID}})
	default:
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "severity: nope"})
	}
}

func setup(t *testing.T, code int) (*server, *Client, *Spool) {
	s := &server{code: code}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, &Client{URL: hs.URL, Token: "opsbot_secret"}, &Spool{Dir: filepath.Join(t.TempDir(), "spool")}
}

func ev(id string) *event.Event { return &event.Event{ID: id, Tag: "backup.failed", Title: "t " + id} }

func TestRunSpoolsThenFlushesInOrder(t *testing.T) {
	srv, c, sp := setup(t, http.StatusServiceUnavailable)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		res, err := Run(ctx, c, sp, ev(id))
		require.NoError(t, err)
		require.Equal(t, ExitSpooled, res.Code(), "5xx spools")
	}
	files, err := sp.List()
	require.NoError(t, err)
	require.Len(t, files, 2)
	var first event.Event
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &first))
	require.Equal(t, "a", first.ID, "files sort in spooling order")
	require.NotContains(t, string(data), "opsbot_secret", "the token is not spooled")
	info, err := os.Stat(files[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	srv.mu.Lock()
	srv.code = http.StatusAccepted
	srv.mu.Unlock()
	res, err := Run(ctx, c, sp, ev("c"))
	require.NoError(t, err)
	require.Equal(t, ExitSent, res.Code())
	require.Equal(t, []string{"a", "b", "c"}, res.Sent, "the spool first, in order, then the new one")
	files, err = sp.List()
	require.NoError(t, err)
	require.Empty(t, files)
	require.Equal(t, "Bearer opsbot_secret", srv.tokens[len(srv.tokens)-1])

	res, err = Run(ctx, c, sp, nil) // --flush with nothing to send
	require.NoError(t, err)
	require.Equal(t, ExitSent, res.Code())
}

func TestRunUnreachableSpools(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close() // nothing listens there any more
	sp := &Spool{Dir: filepath.Join(t.TempDir(), "spool")}
	res, err := Run(context.Background(), &Client{URL: url}, sp, ev("x"))
	require.NoError(t, err)
	require.Equal(t, ExitSpooled, res.Code())
	require.Equal(t, 1, res.Spooled)
	require.ErrorContains(t, res.Err, "connection refused")
}

func TestRunRejected(t *testing.T) {
	srv, c, sp := setup(t, http.StatusBadRequest)
	res, err := Run(context.Background(), c, sp, ev("bad"))
	require.NoError(t, err)
	require.Equal(t, ExitRejected, res.Code())
	require.EqualError(t, res.Rejected[0], "rejected (400): severity: nope")
	files, _ := sp.List()
	require.Empty(t, files, "a rejected event is not spooled")
	require.Empty(t, srv.got)

	// A spooled event the server later refuses is set aside, not retried forever.
	_, err = sp.Put(*ev("old"))
	require.NoError(t, err)
	res, err = Run(context.Background(), c, sp, nil)
	require.NoError(t, err)
	require.Equal(t, ExitRejected, res.Code())
	rejected, err := os.ReadDir(filepath.Join(sp.Dir, "rejected"))
	require.NoError(t, err)
	require.Len(t, rejected, 1)
}

func TestRunAuthKeepsTheSpool(t *testing.T) {
	_, c, sp := setup(t, http.StatusUnauthorized)
	_, err := sp.Put(*ev("waiting"))
	require.NoError(t, err)
	res, err := Run(context.Background(), c, sp, ev("new"))
	require.NoError(t, err)
	require.Equal(t, ExitRejected, res.Code())
	require.NotNil(t, res.Auth)
	files, _ := sp.List()
	require.Len(t, files, 1, "the spooled event waits for a good token")
	require.NotContains(t, res.Auth.Error(), "opsbot_secret")
}

func TestSpoolPutIsAtomic(t *testing.T) {
	sp := &Spool{Dir: filepath.Join(t.TempDir(), "spool")}
	// A temp file left by a crash mid-write is never taken for an event.
	require.NoError(t, os.MkdirAll(sp.Dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(sp.Dir, ".tmp-123"), []byte(`{"tag":`), 0o600))
	path, err := sp.Put(*ev("x"))
	require.NoError(t, err)
	files, err := sp.List()
	require.NoError(t, err)
	require.Equal(t, []string{path}, files)
	ents, err := os.ReadDir(sp.Dir)
	require.NoError(t, err)
	for _, e := range ents {
		require.False(t, strings.HasPrefix(e.Name(), ".tmp-") && e.Name() != ".tmp-123", "Put leaves no temp file: %s", e.Name())
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	d, err := DefaultDir()
	require.NoError(t, err)
	require.Equal(t, "/state/opsbot/spool", d)
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	d, err = DefaultDir()
	require.NoError(t, err)
	require.Equal(t, "/home/u/.local/state/opsbot/spool", d)
}
