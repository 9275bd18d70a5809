package main

import (
	"context"
	"os"

	"golang.org/x/term"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/chat/shell"
)

// ShellCmd is a terminal chat with the bot.
type ShellCmd struct {
	User   string `help:"Chat as this user (the identity shell:USER; default $USER)."`
	Room   string `help:"Start in this room." default:"shell"`
	DryRun bool   `name:"dry-run" help:"Providers and scripts print what they would run instead of running it."`
}

func (c *ShellCmd) Run(ctx context.Context, g *Globals) error {
	o := g.options()
	o.DryRun = c.DryRun
	a, err := app.Open(ctx, o)
	if err != nil {
		return err
	}
	defer a.Close()
	sh := shell.New(shell.Options{
		In: os.Stdin, Out: os.Stdout, User: c.User, Room: c.Room,
		Interactive: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())),
		BotName:     a.Core.Bot.Name,
	})
	if err := a.Build(ctx, sh); err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	defer a.Stop(context.WithoutCancel(ctx))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.Bot.Run(runCtx, sh)
	select {
	case <-sh.Done():
	case <-ctx.Done():
	}
	return nil
}
