package fleet_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

// TestSecretsStayHidden: header values (secrets) reach the servers they are
// for, and nowhere else: not the chat, not the logs, not the audit log —
// even when a server echoes them back in an error.
func TestSecretsStayHidden(t *testing.T) {
	const hdr, restartTok = "Bearer health-hdr-7f3a", "restart-tok-91c2"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if r.Header.Get("Authorization") != hdr {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "backend says: your header was "+r.Header.Get("Authorization"))
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "restart failed for token "+r.Header.Get("X-Token"))
	}))
	defer echo.Close()
	p := newPlatform(t)
	p.yaml += fmt.Sprintf(`    - {name: vault, env: staging, health: %q, headers: {Authorization: %q}, restart: {http: {url: %q, headers: {X-Token: %q}}}}
`, echo.URL+"/health", hdr, echo.URL+"/restart/{instance}", restartTok)
	tb, _ := p.bot(t, "")

	var out []string
	out = append(out, say(tb, "alice", "health vault"))
	out = append(out, say(tb, "alice", "restart vault"))
	out = append(out, say(tb, "alice", "platform staging"))
	all := strings.Join(out, "\n")
	assert.Contains(t, all, "*vault* is down — HTTP 500", "the header was sent")
	assert.Contains(t, all, "Restarting *vault* failed: POST "+echo.URL+"/restart/vault: HTTP 502")
	assert.Contains(t, all, "[redacted]")

	audit, err := tb.Store.QueryAudit(tb.Ctx, store.AuditFilter{Limit: 100})
	require.NoError(t, err)
	for _, e := range audit {
		all += "\n" + e.Text + " " + e.Error
	}
	all += "\n" + tb.Logs()
	for _, s := range []string{"health-hdr-7f3a", restartTok} {
		assert.NotContains(t, all, s)
	}
}
