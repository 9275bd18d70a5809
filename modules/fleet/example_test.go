package fleet_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	fl "github.com/opsbot/opsbot/fleet"
	fleetmod "github.com/opsbot/opsbot/modules/fleet"
)

// TestExampleBlockLoads: the commented `instances:` block of
// examples/opsbot.yaml loads once uncommented.
func TestExampleBlockLoads(t *testing.T) {
	raw, err := os.ReadFile("../../examples/opsbot.yaml")
	require.NoError(t, err)
	// The block is "# instances:" and the indented comment lines under it.
	_, block, ok := strings.Cut(string(raw), "\n# instances:\n")
	require.True(t, ok, "examples/opsbot.yaml documents the instances section")
	lines := []string{"instances:"}
	for _, l := range strings.Split(block, "\n") {
		rest, ok := strings.CutPrefix(l, "#   ")
		if !ok {
			break
		}
		lines = append(lines, "  "+rest)
	}
	m := fleetmod.New()
	l := config.NewLoader(config.WithEnv(map[string]string{"LB_TOKEN": "lb", "ROI_ADMIN_TOKEN": "roi", "DEPLOYER_TOKEN": "dep"}))
	name, target := m.ConfigSection()
	require.NoError(t, l.Register(name, target))
	require.NoError(t, l.Load("opsbot.yaml", []byte(strings.Join(lines, "\n"))))
	cfg := *target.(*fl.Config)
	assert.Len(t, cfg.List, 5)
	assert.Equal(t, []string{"roih status"}, cfg.Platform.Aliases)
	assert.Equal(t, "backend.colour", cfg.Apps["roi"].Active.Field)
	assert.Equal(t, "roi-green", cfg.List[1].Restart.Kubectl.Deployment)
}
