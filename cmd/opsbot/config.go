package main

import (
	"context"
	"fmt"

	"github.com/opsbot/opsbot/app"
)

// ConfigCmd groups the config tools.
type ConfigCmd struct {
	Check ConfigCheckCmd `cmd:"" help:"Validate the configuration without starting anything; errors name file, line and key."`
}

// ConfigCheckCmd validates the config.
type ConfigCheckCmd struct{}

func (ConfigCheckCmd) Run(ctx context.Context, g *Globals) error {
	a, err := app.LoadConfig(g.options())
	if err != nil {
		return err
	}
	if a.ConfigPath == "" {
		fmt.Println("no config file: opsbot runs on its defaults")
		return nil
	}
	fmt.Printf("%s: ok (%d sections known)\n", a.ConfigPath, len(a.Loader.Sections()))
	return nil
}

// MigrateCmd applies migrations.
type MigrateCmd struct{}

func (MigrateCmd) Run(ctx context.Context, g *Globals) error {
	a, err := app.Open(ctx, g.options())
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Printf("migrated %s database\n", a.Store.Dialect())
	return nil
}
