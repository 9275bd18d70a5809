package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/event"
	notifymod "github.com/opsbot/opsbot/modules/notify"
	"github.com/opsbot/opsbot/notify"
	"github.com/opsbot/opsbot/store"
)

// RoutesCmd groups the route tree's tools.
type RoutesCmd struct {
	Test RoutesTestCmd `cmd:"" help:"Show where an event would go and what it would run."`
}

// RoutesTestCmd matches an event against the route tree without sending anything.
type RoutesTestCmd struct {
	Tag         string            `required:"" help:"The event's tag (deploy.finished, alert.disk)."`
	Label       map[string]string `short:"l" help:"A label, k=v (repeat the flag for more)."`
	Severity    string            `default:"warning" enum:"info,warning,critical" help:"info, warning or critical."`
	Status      string            `default:"firing" enum:"firing,resolved" help:"firing or resolved."`
	Source      string            `default:"cli" help:"The event's source."`
	Room        string            `help:"The event's own room (replaces the routes' rooms)."`
	Fingerprint string            `help:"The event's fingerprint."`
}

func (c *RoutesTestCmd) Run(ctx context.Context, g *Globals) error {
	a, err := app.Open(ctx, g.options())
	if err != nil {
		return err
	}
	defer a.Close()
	// The adapters serve would run, so rooms without one show the default adapter.
	if err := a.Build(ctx, chatAdapters(a.Modules)...); err != nil {
		return err
	}
	var mod *notifymod.Module
	for _, m := range a.Modules {
		if n, ok := m.(*notifymod.Module); ok {
			mod = n
		}
	}
	if mod == nil {
		return errors.New("the notify module is not built in")
	}
	e := event.Event{Tag: c.Tag, Labels: c.Label, Severity: event.Severity(c.Severity), Status: event.Status(c.Status),
		Source: c.Source, Room: c.Room, Fingerprint: c.Fingerprint}
	return printPlans(ctx, os.Stdout, a, mod, e, time.Now())
}

func printPlans(ctx context.Context, w io.Writer, a *app.App, mod *notifymod.Module, e event.Event, now time.Time) error {
	plans := mod.Tree().Plan(e, now.In(mod.Location()))
	for i, p := range plans {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "route %s\n", p.Route.ID)
		rooms := "none (nothing is posted)"
		if len(p.Rooms) > 0 {
			var rs []string
			for _, r := range p.Rooms {
				if spec, err := notify.ParseRoom(r); err == nil && spec.Adapter == "" {
					if d := mod.DefaultAdapterName(); d != "" {
						r += " (on " + d + ")"
					} else {
						r += " (on the default adapter: set routes.default_adapter when there are several)"
					}
				}
				rs = append(rs, r)
			}
			rooms = strings.Join(rs, ", ")
		}
		fmt.Fprintf(w, "  rooms:    %s\n", rooms)
		fmt.Fprintf(w, "  posts:    %s\n", p.Grouping)
		if p.Muted {
			fmt.Fprintf(w, "  muted:    yes, a mute_when window is open now\n")
		}
		if len(p.Mentions) > 0 {
			fmt.Fprintf(w, "  mentions: %s\n", strings.Join(p.Mentions, ", "))
		}
		switch {
		case p.RunErr != nil:
			fmt.Fprintf(w, "  runs:     nothing: %v\n", p.RunErr)
		case p.Run != "":
			fmt.Fprintf(w, "  runs:     `%s` as %s\n", p.Run, p.Route.As)
			fmt.Fprintf(w, "            %s\n", explainAs(ctx, a, p.Route.As, p.Run))
		}
	}
	return nil
}

// explainAs tells whether user may run text, as RunAs would decide.
func explainAs(ctx context.Context, a *app.App, user, text string) string {
	u, err := a.Store.UserByName(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Sprintf("refused: there is no opsbot user %q", user)
	}
	if err != nil {
		return "unknown: " + err.Error()
	}
	groups, err := a.Store.GroupsOf(ctx, u.ID)
	if err != nil {
		return "unknown: " + err.Error()
	}
	p := command.Principal{UserID: u.ID, Name: u.Name, Groups: groups}
	ex := a.Bot.Explain(ctx, p, chat.Room{}, text)
	switch {
	case ex.Result.Spec == nil:
		return "refused: no command matches it"
	case ex.Result.Missing != nil || ex.Result.Invalid != nil:
		return "refused: it does not parse (opsbot explain tells more)"
	case !ex.Decision.Allowed:
		return fmt.Sprintf("refused: %s may not run %s (%s)", user, ex.Result.Spec.Name, ex.Decision.Reason)
	case ex.Confirm:
		return "refused: it asks for confirmation, which no one can give"
	}
	return fmt.Sprintf("allowed: %s may run %s (%s)", user, ex.Result.Spec.Name, ex.Decision.Reason)
}
