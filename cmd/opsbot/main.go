// Command opsbot is the ChatOps bot: the server, its shell, and its
// administration commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/opsbot/opsbot/app"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// Globals are the flags every subcommand takes.
type Globals struct {
	ConfigFile string `name:"config" short:"c" help:"Config file (default ./opsbot.yaml when it exists, else built-in defaults)." type:"path" env:"OPSBOT_CONFIG"`
	Data       string `name:"data" help:"Data directory for the embedded SQLite database." default:"opsbot-data" type:"path" env:"OPSBOT_DATA"`
	Database   string `name:"database" help:"Database URL: postgres://… for PostgreSQL (default: SQLite under --data)." env:"OPSBOT_DATABASE"`
}

func (g *Globals) options() app.Options {
	return app.Options{ConfigFile: g.ConfigFile, DataDir: g.Data, DatabaseURL: g.Database}
}

// CLI is the command line.
type CLI struct {
	Globals

	Serve   ServeCmd   `cmd:"" help:"Run opsbot: HTTP API, web console and chat adapters."`
	Shell   ShellCmd   `cmd:"" help:"Chat with the bot in the terminal, with the real commands and modules."`
	Explain ExplainCmd `cmd:"" help:"Show which command a text matches, its arguments and the permission decision."`
	Config  ConfigCmd  `cmd:"" help:"Configuration tools."`
	Migrate MigrateCmd `cmd:"" help:"Apply database migrations."`
	User    UserCmd    `cmd:"" help:"Manage users."`
	Auth    AuthCmd    `cmd:"" help:"Manage permission rules."`
	Token   TokenCmd   `cmd:"" help:"Manage API tokens."`
	Audit   AuditCmd   `cmd:"" help:"Query the audit log."`
	Tell    TellCmd    `cmd:"" help:"Send an ops message (event) to opsbot; spooled locally when the server can't take it."`
	Outbox  OutboxCmd  `cmd:"" help:"Inspect the outbox of posts: failed posts, retry them."`
	Routes  RoutesCmd  `cmd:"" help:"Test the notify route tree."`
	Leases  LeasesCmd  `cmd:"" help:"List what each replica holds (single-connection chats, the notify pipeline)."`
	Apps    AppsCmd    `cmd:"" help:"Deployable apps: import a hubot-deploy apps.json."`
	Version VersionCmd `cmd:"" help:"Print the version."`
}

// exitError carries a process exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	var cli CLI
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx := kong.Parse(&cli,
		kong.Name("opsbot"),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Description("opsbot — ChatOps: run operations from chat, with permissions, confirmations and an audit log."),
		kong.UsageOnError(),
	)
	err := kctx.Run(&cli.Globals)
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintln(os.Stderr, "opsbot:", err)
		os.Exit(code)
	}
}

// VersionCmd prints the version.
type VersionCmd struct{}

func (VersionCmd) Run() error {
	fmt.Println("opsbot", Version)
	return nil
}
