// Package auth decides whether a principal may run a command, from the
// permission rules. It is pure: the bot loads the rules and records the
// decision in the audit log.
package auth

import (
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

// AdminGroup is the group whose members may run everything.
const AdminGroup = "admins"

// Request is what is being decided.
type Request struct {
	Principal   command.Principal
	Command     string
	Permissions []string // every one is needed
	SideEffects bool
	Room        chat.Room
	Args        command.Args
}

// Decision is the answer.
type Decision struct {
	Allowed bool
	// Missing is the first permission no rule grants (empty when allowed or for guests).
	Missing string
	// Reason explains the decision for the audit log and the user.
	Reason string
	// RuleID is the rule that allowed the last permission, when one did.
	RuleID int64
}

// Decide applies the rules. Commands without side effects and without a
// permission are open to everyone, guests included; commands with side effects
// are closed to guests and need every permission granted by a rule; admins
// may run everything.
func Decide(rules []store.Rule, req Request) Decision {
	perms := req.Permissions
	if len(perms) == 0 && req.SideEffects {
		perms = []string{req.Command}
	}
	if len(perms) == 0 {
		return Decision{Allowed: true, Reason: "open command"}
	}
	if req.Principal.Guest {
		if req.SideEffects {
			return Decision{Reason: "guests may only run commands without side effects", Missing: perms[0]}
		}
	}
	if req.Principal.IsAdmin() {
		return Decision{Allowed: true, Reason: "member of " + AdminGroup}
	}
	var d Decision
	for _, p := range perms {
		r, ok := grant(rules, req, p)
		if !ok {
			return Decision{Missing: p, Reason: fmt.Sprintf("missing permission %q", p)}
		}
		d.RuleID = r.ID
	}
	d.Allowed = true
	d.Reason = fmt.Sprintf("rule %d", d.RuleID)
	return d
}

func grant(rules []store.Rule, req Request, perm string) (store.Rule, bool) {
	for _, r := range rules {
		if !Covers(r.Permission, perm) || !subjectMatches(r.Subject, req.Principal) ||
			!roomMatches(r.Rooms, req.Room) || !argsMatch(r.Args, req.Args) {
			continue
		}
		return r, true
	}
	return store.Rule{}, false
}

// Covers reports whether a granted permission covers a needed one: equal, "*",
// or a "prefix:*" wildcard ("deploy:*" covers "deploy:production" and "deploy").
func Covers(granted, needed string) bool {
	granted, needed = strings.ToLower(granted), strings.ToLower(needed)
	if granted == needed || granted == "*" {
		return true
	}
	if base, ok := strings.CutSuffix(granted, ":*"); ok {
		return needed == base || strings.HasPrefix(needed, base+":")
	}
	return false
}

func subjectMatches(subject string, p command.Principal) bool {
	kind, name, ok := strings.Cut(subject, ":")
	if !ok {
		return false
	}
	switch kind {
	case "user":
		return !p.Guest && strings.EqualFold(name, p.Name)
	case "group":
		if name == "everyone" {
			return !p.Guest
		}
		for _, g := range p.Groups {
			if strings.EqualFold(g, name) {
				return true
			}
		}
	}
	return false
}

func roomMatches(rooms []string, room chat.Room) bool {
	if len(rooms) == 0 {
		return true
	}
	for _, r := range rooms {
		r = strings.TrimPrefix(r, "#")
		if strings.EqualFold(r, strings.TrimPrefix(room.Name, "#")) || strings.EqualFold(r, room.ID) || strings.EqualFold(r, room.String()) {
			return true
		}
	}
	return false
}

func argsMatch(want map[string][]string, args command.Args) bool {
	for name, allowed := range want {
		v := args[name]
		ok := false
		for _, a := range allowed {
			if strings.EqualFold(a, v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
