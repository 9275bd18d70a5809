package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

// ExplainCmd explains a text without running it.
type ExplainCmd struct {
	User string `help:"Decide as this opsbot user (default: a guest)."`
	Room string `help:"Decide as if said in this room." default:"shell"`
	Text string `arg:"" help:"The command text."`
}

func (c *ExplainCmd) Run(ctx context.Context, g *Globals) error {
	a, err := app.Open(ctx, g.options())
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Build(ctx); err != nil {
		return err
	}
	p := command.Principal{Name: "guest:cli", Guest: true}
	if c.User != "" {
		u, err := a.Store.UserByName(ctx, c.User)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no opsbot user %q", c.User)
		}
		if err != nil {
			return err
		}
		groups, err := a.Store.GroupsOf(ctx, u.ID)
		if err != nil {
			return err
		}
		p = command.Principal{UserID: u.ID, Name: u.Name, Groups: groups}
	}
	room := chat.Room{Adapter: "shell", ID: c.Room, Name: c.Room}
	fmt.Println(a.Bot.Explain(ctx, p, room, c.Text).Format(a.Bot, p.Name))
	return nil
}
