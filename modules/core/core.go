// Package core is the built-in commands: help, explain, ping, whoami, link,
// and the permission administration (auth, group). It is a module like any other.
package core

import (
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/command"
)

// Module is the core module.
type Module struct {
	b *bot.Bot
}

// New returns the core module.
func New() *Module { return &Module{} }

func (*Module) Name() string { return "core" }

func (m *Module) Provision(h *bot.Host) error {
	m.b = h.Bot()
	for _, s := range []command.Spec{
		{Name: "help", Grammar: "help [{command...}]", Help: "list the commands you may run, or explain one", Run: m.help},
		{Name: "explain", Grammar: "explain {text...}", Help: "show which command TEXT matches, its arguments and whether you may run it, without running it", Run: m.explain},
		{Name: "ping", Grammar: "ping", Help: "check that the bot answers", Run: m.ping},
		{Name: "whoami", Grammar: "whoami", Help: "show who the bot thinks you are", Run: m.whoami},
		{Name: "link", Grammar: "link {code}", Help: "link this chat account to your opsbot user with a one-time code", Secret: []string{"code"}, Run: m.link},
		{Name: "auth.add", Grammar: "auth add {permission} to {subject} [in {room}]", Help: "grant a permission to a user or group (admins)", Permission: "auth", SideEffects: true, Run: m.authAdd},
		{Name: "auth.remove", Grammar: "auth remove {permission} from {subject}", Help: "take a permission back (admins)", Permission: "auth", SideEffects: true, Run: m.authRemove},
		{Name: "auth.list", Grammar: "auth list [{subject}]", Help: "list permission rules (admins)", Permission: "auth", Run: m.authList},
		{Name: "group.add", Grammar: "group add {user:user} to {group}", Help: "put a user in a group (admins)", Permission: "auth", SideEffects: true, Run: m.groupAdd},
		{Name: "group.remove", Grammar: "group remove {user:user} from {group}", Help: "take a user out of a group (admins)", Permission: "auth", SideEffects: true, Run: m.groupRemove},
	} {
		if err := h.Command(s); err != nil {
			return err
		}
	}
	return nil
}
