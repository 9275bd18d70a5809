package alerts_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/modules/alerts"
)

func loadConfig(t *testing.T, yaml string) (*app.App, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "opsbot.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return app.LoadConfig(app.Options{ConfigFile: p, DataDir: t.TempDir(), Modules: append(app.CoreModules(), alerts.New(), alerts.NewOnCall())})
}
