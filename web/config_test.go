package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/web"
)

// TestExampleSectionLoads uncomments the web block of examples/opsbot.yaml
// and loads it through the app's strict loader.
func TestExampleSectionLoads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "examples", "opsbot.yaml"))
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(b), "# --- Web console")
	require.True(t, ok, "examples/opsbot.yaml documents the web section")
	var yaml []string
	for _, line := range strings.Split(block, "\n")[1:] {
		if !strings.HasPrefix(line, "#") || strings.HasPrefix(line, "# ---") {
			break
		}
		if l := strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "); strings.TrimSpace(l) != "" {
			yaml = append(yaml, l)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "opsbot.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Join(yaml, "\n")+"\n"), 0o600))
	m := web.New()
	_, err = app.LoadConfig(app.Options{ConfigFile: cfg, DataDir: dir, Modules: append(app.CoreModules(), m), LogOutput: os.Stderr})
	require.NoError(t, err)
	_, target := m.ConfigSection()
	require.Equal(t, web.LoginRate{Failures: 5, Window: 5 * time.Minute}, target.(*web.Config).LoginRate)

	require.NoError(t, os.WriteFile(cfg, []byte("web:\n  default_room: \"Not A Room\"\n"), 0o600))
	_, err = app.LoadConfig(app.Options{ConfigFile: cfg, DataDir: dir, Modules: append(app.CoreModules(), web.New()), LogOutput: os.Stderr})
	require.ErrorContains(t, err, "default_room")
}
