package alerts_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/modules/alerts"
	"github.com/opsbot/opsbot/modules/status"
)

// exampleBlock returns the commented block of examples/opsbot.yaml that
// starts with "# NAME:", uncommented.
func exampleBlock(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/opsbot.yaml")
	require.NoError(t, err)
	var out []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "# "+name+":") {
			in = true
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
	}
	require.NotEmpty(t, out, "no commented block %q in examples/opsbot.yaml", name)
	return strings.Join(out, "\n") + "\n"
}

// The commented statuspage, alerts and oncall blocks of the example config
// load once uncommented.
func TestExampleBlocksLoad(t *testing.T) {
	t.Setenv("STATUSPAGE_API_KEY", "k")
	t.Setenv("OPSGENIE_API_KEY", "k")
	t.Setenv("PAGERDUTY_TOKEN", "k")
	yaml := exampleBlock(t, "statuspage") + exampleBlock(t, "alerts") + exampleBlock(t, "oncall")
	p := t.TempDir() + "/opsbot.yaml"
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	_, err := app.LoadConfig(app.Options{ConfigFile: p, DataDir: t.TempDir(),
		Modules: append(app.CoreModules(), status.New(), alerts.New(), alerts.NewOnCall())})
	require.NoError(t, err, yaml)
}
