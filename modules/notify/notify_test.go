package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/event"
	notifymod "github.com/opsbot/opsbot/modules/notify"
	"github.com/opsbot/opsbot/store"
)

const routesYAML = `
users:
  - name: fixer
    groups: [robots]
  - name: alice
    identities: ["test:U-ALICE"]
rules:
  - permission: "ping"
    groups: [robots]
routes:
  default_adapter: test
  rooms: ["#ops"]
  routes:
    - name: owned
      match: {tag: "alert.*"}
      mention: ["label:owner"]
    - name: whoami
      match: {tag: "mysql.replication.error"}
      rooms: ["test:dba", "#ops"]
      run: "whoami"
      as: fixer
    - name: denied
      match: {tag: "mysql.grant"}
      run: "auth add deploy to {labels.user}"
      as: fixer
`

func newBot(t *testing.T) (*bottest.Bot, *notifymod.Module, event.Ingester) {
	t.Helper()
	m := notifymod.New()
	tb := bottest.New(t, bottest.Modules(m), bottest.Config(routesYAML))
	require.NotNil(t, tb.Bot.Ingester())
	return tb, m, tb.Bot.Ingester()
}

// appendEvents ingests events as the API does: stored, then the pipeline is woken.
func appendEvents(t *testing.T, l event.Ingester, es ...event.Event) {
	t.Helper()
	for i := range es {
		if es[i].Status == "" {
			es[i].Status = event.Firing
		}
		if es[i].Severity == "" {
			es[i].Severity = event.Warning
		}
		if es[i].Time.IsZero() {
			es[i].Time = time.Now()
		}
		es[i].Source = "test"
	}
	_, err := l.Ingest(t.Context(), es)
	require.NoError(t, err)
}

// The running pipeline reads the log by itself, woken by appends, and
// posts through the outbox to the routes' rooms; mentions resolve through
// the store.
func TestPipelinePostsAndMentions(t *testing.T) {
	tb, _, l := newBot(t)
	appendEvents(t, l, event.Event{Tag: "backup.done", Title: "backup finished"},
		event.Event{Tag: "alert.disk", Title: "disk full", Labels: map[string]string{"owner": "alice"}})
	p := tb.WaitFor("#ops", "disk full")
	assert.Equal(t, []string{"U-ALICE"}, p.Post.Mentions)
	posts := tb.Chat.All()
	require.Len(t, posts, 2)
	assert.Equal(t, "*backup finished*", posts[0].Post.Text, "in log order")
}

// A route action runs the command as the service user, with its
// permissions, audited, its output in the route's rooms; a command the user
// may not run is refused, audited, and the refusal posted.
func TestRouteActions(t *testing.T) {
	tb, m, l := newBot(t)
	appendEvents(t, l, event.Event{Tag: "mysql.replication.error", Title: "replication broken", Labels: map[string]string{"host": "db1"}})
	require.NoError(t, m.Sync(tb.Ctx))
	tb.WaitFor("dba", "fixer")
	tb.WaitFor("#ops", "fixer")

	appendEvents(t, l, event.Event{Tag: "mysql.grant", Title: "grant", Labels: map[string]string{"user": "mallory"}})
	require.NoError(t, m.Sync(tb.Ctx))
	refusal := tb.WaitFor("#ops", "needs the permission `auth`")
	assert.Contains(t, refusal.Post.Text, "Sorry fixer")

	entries, err := tb.Store.QueryAudit(tb.Ctx, store.AuditFilter{User: "fixer"})
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Identity+" "+e.Command+" "+e.Decision+" "+e.Outcome)
	}
	assert.ElementsMatch(t, []string{"runas:fixer whoami allowed ok", "runas:fixer auth.add denied "}, got)
	rules, err := tb.Store.ListRules(tb.Ctx)
	require.NoError(t, err)
	for _, r := range rules {
		assert.NotEqual(t, "user:mallory", r.Subject, "the denied command did not run")
	}
	assert.False(t, strings.Contains(tb.Logs(), "panic"))
}
