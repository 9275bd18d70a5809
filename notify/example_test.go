package notify

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
)

// TestExampleRoutes: the commented `routes:` block of examples/opsbot.yaml
// loads and routes as its comments say.
func TestExampleRoutes(t *testing.T) {
	data, err := os.ReadFile("../examples/opsbot.yaml")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(data), "# --- Notify routes")
	require.True(t, ok, "the example has a notify routes block")
	if i := strings.Index(block, "\n# ---"); i >= 0 {
		block = block[:i]
	}
	var yaml []string
	for _, l := range strings.Split(block, "\n")[1:] {
		l = strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")
		yaml = append(yaml, l)
	}
	var c Config
	l := config.NewLoader()
	require.NoError(t, l.Register("routes", &c))
	require.NoError(t, l.Load("example.yaml", []byte(strings.Join(yaml, "\n"))))
	tree, err := Compile(c)
	require.NoError(t, err)
	ids := func(e event.Event) []string {
		var out []string
		for _, n := range tree.Match(e) {
			out = append(out, n.ID)
		}
		return out
	}
	assert.Equal(t, []string{"deploys"}, ids(event.Event{Tag: "deploy.finished"}))
	assert.Equal(t, []string{"replication", "pager"}, ids(event.Event{Tag: "alert.mysql.replication", Severity: event.Critical, Labels: map[string]string{"team": "db"}}))
	assert.Equal(t, []string{"root"}, ids(event.Event{Tag: "backup.done"}))
}
