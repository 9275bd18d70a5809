package core

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

func (m *Module) link(ctx context.Context, c *command.Call) error {
	st := m.b.Store()
	u, err := st.ConsumeLinkCode(ctx, strings.TrimSpace(c.Args["code"]), m.b.Now())
	if errors.Is(err, store.ErrNotFound) {
		return c.Replyf(ctx, "That code is unknown or expired. Ask an admin for a new one (`opsbot user link-code NAME`).")
	}
	if err != nil {
		return fmt.Errorf("link: %w", err)
	}
	id := c.Msg.From
	if err := st.LinkIdentity(ctx, store.Identity{UserID: u.ID, Adapter: id.Adapter, ChatID: id.ID, Name: id.Name}); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	return c.Replyf(ctx, "Linked %s to opsbot user %s.", id.Key(), u.Name)
}

// Subject resolves "alice", "@alice", "user:alice", "group:ops" or "ops" to a
// rule subject: an existing user's name is a user, anything else a group.
func Subject(ctx context.Context, st store.Store, s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	if kind, name, ok := strings.Cut(s, ":"); ok {
		switch kind {
		case "user":
			if _, err := st.UserByName(ctx, name); err != nil {
				return "", fmt.Errorf("no user %q: %w", name, err)
			}
			return s, nil
		case "group":
			return s, nil
		}
		return "", fmt.Errorf("%q: a subject is a user or group name, or user:NAME / group:NAME", s)
	}
	if _, err := st.UserByName(ctx, s); err == nil {
		return "user:" + s, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	return "group:" + s, nil
}

func (m *Module) authAdd(ctx context.Context, c *command.Call) error {
	subj, err := Subject(ctx, m.b.Store(), c.Args["subject"])
	if err != nil {
		return c.Replyf(ctx, "%v", err)
	}
	r := store.Rule{Permission: c.Args["permission"], Subject: subj}
	if room := c.Args["room"]; room != "" {
		r.Rooms = []string{room}
	}
	r, err = m.b.Store().AddRule(ctx, r)
	if err != nil {
		return fmt.Errorf("auth add: %w", err)
	}
	where := ""
	if len(r.Rooms) > 0 {
		where = " in " + strings.Join(r.Rooms, ", ")
	}
	return c.Replyf(ctx, "Granted `%s` to %s%s (rule %d).", r.Permission, subj, where, r.ID)
}

func (m *Module) authRemove(ctx context.Context, c *command.Call) error {
	subj, err := Subject(ctx, m.b.Store(), c.Args["subject"])
	if err != nil {
		return c.Replyf(ctx, "%v", err)
	}
	n, err := m.b.Store().RemoveRules(ctx, c.Args["permission"], subj)
	if err != nil {
		return fmt.Errorf("auth remove: %w", err)
	}
	if n == 0 {
		return c.Replyf(ctx, "No stored rule grants `%s` to %s (rules from the config file are changed there).", c.Args["permission"], subj)
	}
	return c.Replyf(ctx, "Removed `%s` from %s.", c.Args["permission"], subj)
}

func (m *Module) authList(ctx context.Context, c *command.Call) error {
	rules, err := m.b.Rules(ctx)
	if err != nil {
		return fmt.Errorf("auth list: %w", err)
	}
	filter := ""
	if s := c.Args["subject"]; s != "" {
		if filter, err = Subject(ctx, m.b.Store(), s); err != nil {
			return c.Replyf(ctx, "%v", err)
		}
	}
	lines := FormatRules(rules, filter)
	if len(lines) == 0 {
		return c.Replyf(ctx, "No rules. Admins (group `admins`) may run everything; others only commands without side effects.")
	}
	return c.Replyf(ctx, "Rules:\n%s", strings.Join(lines, "\n"))
}

// FormatRules renders rules one per line, for chat and the CLI.
func FormatRules(rules []store.Rule, subject string) []string {
	var lines []string
	for _, r := range rules {
		if subject != "" && !strings.EqualFold(r.Subject, subject) {
			continue
		}
		line := fmt.Sprintf("- `%s` → %s", r.Permission, r.Subject)
		if len(r.Rooms) > 0 {
			line += " in " + strings.Join(r.Rooms, ", ")
		}
		for k, v := range r.Args {
			line += fmt.Sprintf(" when %s=%s", k, strings.Join(v, "|"))
		}
		if r.ID == 0 {
			line += " (config)"
		} else {
			line += fmt.Sprintf(" (rule %d)", r.ID)
		}
		lines = append(lines, line)
	}
	return lines
}

func (m *Module) groupAdd(ctx context.Context, c *command.Call) error {
	u, err := m.b.Store().UserByName(ctx, c.Args["user"])
	if err != nil {
		return c.Replyf(ctx, "No user %q.", c.Args["user"])
	}
	if err := m.b.Store().AddToGroup(ctx, u.ID, c.Args["group"]); err != nil {
		return fmt.Errorf("group add: %w", err)
	}
	return c.Replyf(ctx, "%s is now in %s.", u.Name, c.Args["group"])
}

func (m *Module) groupRemove(ctx context.Context, c *command.Call) error {
	u, err := m.b.Store().UserByName(ctx, c.Args["user"])
	if err != nil {
		return c.Replyf(ctx, "No user %q.", c.Args["user"])
	}
	if err := m.b.Store().RemoveFromGroup(ctx, u.ID, c.Args["group"]); err != nil {
		return fmt.Errorf("group remove: %w", err)
	}
	return c.Replyf(ctx, "%s is no longer in %s.", u.Name, c.Args["group"])
}
