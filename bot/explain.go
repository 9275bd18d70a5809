package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/opsbot/opsbot/auth"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
)

// Explanation is what explain shows: the match, the arguments and the
// permission decision, without running anything.
type Explanation struct {
	Text        string
	Result      command.Result
	Permissions []string
	Decision    auth.Decision
	Confirm     bool
}

// Explain matches text as p in room and decides, without running or auditing.
func (b *Bot) Explain(ctx context.Context, p command.Principal, room chat.Room, text string) Explanation {
	ex := Explanation{Text: text, Result: b.matcher.Match(ctx, text)}
	if s := ex.Result.Spec; s != nil && ex.Result.Missing == nil && ex.Result.Invalid == nil {
		ex.Permissions = s.Permissions(ex.Result.Args, ex.Result.Flags)
		ex.Decision = b.decide(ctx, p, s, room, ex.Result.Args, ex.Result.Flags)
		ex.Confirm = s.Confirm.Needed(ex.Result.Args)
	}
	return ex
}

// Format renders the explanation for chat or a terminal.
func (ex Explanation) Format(b *Bot, who string) string {
	r := ex.Result
	var sb strings.Builder
	switch {
	case len(r.Ambiguous) > 0:
		fmt.Fprintf(&sb, "`%s` is ambiguous:", ex.Text)
		for _, s := range r.Ambiguous {
			fmt.Fprintf(&sb, "\n- %s: `%s`", s.Name, b.usage(s))
		}
		return sb.String()
	case r.Spec == nil:
		fmt.Fprintf(&sb, "`%s` matches no command.", ex.Text)
		if len(r.Suggestions) > 0 {
			fmt.Fprintf(&sb, " Did you mean %s?", quoteList(r.Suggestions))
		}
		return sb.String()
	}
	s := r.Spec
	fmt.Fprintf(&sb, "command: %s (module %s)\ngrammar: %s\n", s.Name, s.Module, b.usage(s))
	if r.Missing != nil {
		fmt.Fprintf(&sb, "missing: %s", r.Missing.Name)
		if len(r.Choices) > 0 {
			fmt.Fprintf(&sb, " (one of: %s)", strings.Join(r.Choices, ", "))
		}
		return sb.String()
	}
	if r.Invalid != nil {
		fmt.Fprintf(&sb, "invalid: %s", r.Invalid)
		return sb.String()
	}
	names := make([]string, 0, len(r.Args))
	for k := range r.Args {
		names = append(names, k)
	}
	sort.Strings(names)
	sb.WriteString("arguments:")
	if len(names) == 0 {
		sb.WriteString(" none")
	}
	for _, k := range names {
		v := r.Args[k]
		for _, sec := range s.Secret {
			if sec == k {
				v = "[redacted]"
			}
		}
		fmt.Fprintf(&sb, "\n  %s = %q", k, v)
	}
	var flags []string
	for f, on := range r.Flags {
		if on {
			flags = append(flags, f)
		}
	}
	sort.Strings(flags)
	if len(flags) > 0 {
		fmt.Fprintf(&sb, "\nflags: %s", strings.Join(flags, " "))
	}
	perms := "none"
	if len(ex.Permissions) > 0 {
		perms = strings.Join(ex.Permissions, ", ")
	}
	fmt.Fprintf(&sb, "\nside effects: %t\npermissions: %s\n", s.SideEffects, perms)
	if ex.Decision.Allowed {
		fmt.Fprintf(&sb, "decision: %s may run it (%s)", who, ex.Decision.Reason)
	} else {
		fmt.Fprintf(&sb, "decision: %s may NOT run it (%s)", who, ex.Decision.Reason)
	}
	if ex.Confirm {
		sb.WriteString("\nconfirmation: required")
	}
	return sb.String()
}
