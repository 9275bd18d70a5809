package core

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
)

func (m *Module) help(ctx context.Context, c *command.Call) error {
	topic := strings.ToLower(strings.TrimSpace(c.Args["command"]))
	var specs []*command.Spec
	for _, s := range m.b.Matcher().Specs() {
		if !m.b.MayRun(ctx, c.User, s, c.Msg.Room) {
			continue
		}
		if topic != "" && !strings.HasPrefix(strings.ToLower(s.Name), topic) && !strings.HasPrefix(strings.ToLower(usage(s)), topic) {
			continue
		}
		specs = append(specs, s)
	}
	if len(specs) == 0 {
		if topic != "" {
			return c.Replyf(ctx, "No command you may run starts with `%s`. Say `help` for the list.", topic)
		}
		return c.Replyf(ctx, "There is nothing you may run here.")
	}
	sort.Slice(specs, func(i, j int) bool {
		if specs[i].Module != specs[j].Module {
			return specs[i].Module < specs[j].Module
		}
		return specs[i].Name < specs[j].Name
	})
	var sb strings.Builder
	if topic == "" {
		fmt.Fprintf(&sb, "Commands you may run (%d):", len(specs))
	}
	module := ""
	for _, s := range specs {
		if s.Module != module && topic == "" {
			module = s.Module
			fmt.Fprintf(&sb, "\n*%s*", module)
		}
		fmt.Fprintf(&sb, "\n- `%s` — %s", usage(s), s.Help)
		if topic != "" {
			if s.Permission != "" || s.SideEffects {
				perm := s.Permission
				if perm == "" {
					perm = s.Name
				}
				fmt.Fprintf(&sb, " (permission `%s`)", perm)
			}
			if s.Confirm.Mode != command.ConfirmNever {
				sb.WriteString(" (asks for confirmation)")
			}
		}
	}
	_, err := c.Reply(ctx, chat.Post{Text: strings.TrimLeft(sb.String(), "\n")})
	return err
}

func usage(s *command.Spec) string {
	if g, err := command.Compile(s.Grammar); err == nil {
		return g.Usage()
	}
	return s.Grammar
}

func (m *Module) explain(ctx context.Context, c *command.Call) error {
	ex := m.b.Explain(ctx, c.User, c.Msg.Room, c.Args["text"])
	_, err := c.Reply(ctx, chat.Post{Text: "```\n" + ex.Format(m.b, c.User.Name) + "\n```"})
	return err
}

func (m *Module) ping(ctx context.Context, c *command.Call) error {
	return c.Replyf(ctx, "pong")
}

func (m *Module) whoami(ctx context.Context, c *command.Call) error {
	id := c.Msg.From
	if c.User.Guest {
		return c.Replyf(ctx, "You are %s, a guest (%s, not linked to an opsbot user). Guests may run commands without side effects; link with `link CODE`.", id.Name, id.Key())
	}
	groups := "no groups"
	if len(c.User.Groups) > 0 {
		groups = "groups " + strings.Join(c.User.Groups, ", ")
	}
	return c.Replyf(ctx, "You are %s (%s), in %s.", c.User.Name, id.Key(), groups)
}
