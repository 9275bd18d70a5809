package main

import (
	"fmt"
	"os"

	"github.com/opsbot/opsbot/deploy"
)

// AppsCmd groups the deployable apps' tools.
type AppsCmd struct {
	Import AppsImportCmd `cmd:"" help:"Convert a hubot-deploy apps.json into an apps: block for opsbot.yaml."`
}

// AppsImportCmd is `opsbot apps import apps.json`.
type AppsImportCmd struct {
	File string `arg:"" help:"hubot-deploy's apps.json." type:"existingfile"`
}

// Run prints the converted block on stdout and the warnings on stderr.
func (c *AppsImportCmd) Run() error {
	data, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	out, warns, err := deploy.ImportHubotApps(data)
	for _, w := range warns {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	if err != nil {
		return err
	}
	fmt.Print(out)
	return nil
}
