// Package command is the command engine's data model and grammar: a command is
// a Spec (grammar, permission, confirmation policy, handler), matched against
// chat text through an index on leading literal words.
package command

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
)

// Handler runs a matched, authorised and confirmed command.
type Handler func(ctx context.Context, c *Call) error

// Spec is one command: data, not a regex.
type Spec struct {
	// Name identifies the command in help, audit and metrics ("deploy", "scripts.refresh").
	Name string
	// Grammar is the command's syntax, e.g. "deploy[:{task}][!] {app}[/{ref}] [to|in|on {env}[/{hosts}]]".
	Grammar string
	// Help is a one-line description.
	Help string
	// Permission needed to run it. It may name arguments, "deploy:{env}", which are
	// filled from the call; a part whose argument is empty is dropped with its separator.
	// Empty means no permission is needed beyond SideEffects' rule.
	Permission string
	// ForceFlag names an optional literal ("!" or "force") that makes this the forced
	// form; the forced form needs ForcePermission as well.
	ForceFlag       string
	ForcePermission string
	// SideEffects marks a command that changes something; guests may never run it,
	// and it is denied unless a rule allows its permission.
	SideEffects bool
	// Confirm says when to ask before running.
	Confirm Policy
	// Thread, when set, makes the command match only as a reply in a thread that a
	// module opened with that kind (see Call.OpenThread): "retry" in a deployment thread.
	Thread string
	// Secret lists argument names whose values are redacted in audit and logs.
	Secret []string
	// Module is filled in by the host: the module that declared the command.
	Module string
	// Run is the handler.
	Run Handler
}

// ConfirmMode says when a command asks for confirmation.
type ConfirmMode int

const (
	ConfirmNever ConfirmMode = iota
	ConfirmAlways
	ConfirmWhen // ask when Policy.When returns true
)

// Policy is a command's confirmation policy.
type Policy struct {
	Mode ConfirmMode
	// When decides for ConfirmWhen, over the parsed arguments.
	When func(args Args) bool
	// Timeout is how long the confirmation stays open; 0 means the bot's default (2 minutes).
	Timeout time.Duration
	// Describe, when set, says what the command will affect, shown above
	// the question ("blue is ACTIVE and serving api's traffic"); "" adds nothing.
	Describe func(ctx context.Context, args Args) string
}

// Needed reports whether a call with these arguments must be confirmed.
func (p Policy) Needed(args Args) bool {
	switch p.Mode {
	case ConfirmAlways:
		return true
	case ConfirmWhen:
		return p.When != nil && p.When(args)
	}
	return false
}

// Args are parsed, normalised argument values by name.
type Args map[string]string

// String returns the argument or "".
func (a Args) String(name string) string { return a[name] }

// Int returns the argument as an int (0 when absent or invalid; the grammar's
// type check has already rejected invalid input).
func (a Args) Int(name string) int {
	n, _ := strconv.Atoi(a[name])
	return n
}

// Duration returns the argument as a duration.
func (a Args) Duration(name string) time.Duration {
	d, _ := clock.ParseDuration(a[name])
	return d
}

// Principal is who runs a command, as resolved by the bot.
type Principal struct {
	UserID   int64
	Name     string // opsbot user name; for a guest, the chat identity's name
	Groups   []string
	Guest    bool
	Identity chat.Identity
}

// IsAdmin reports membership of the admins group.
func (p Principal) IsAdmin() bool {
	for _, g := range p.Groups {
		if g == "admins" {
			return true
		}
	}
	return false
}

// Responder is how a running command talks back; the bot implements it.
type Responder interface {
	// Reply posts in the room (in the thread, when the command came from one).
	Reply(ctx context.Context, p chat.Post) (chat.Ref, error)
	// PostTo posts to another room.
	PostTo(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error)
	// PostInThread posts under an earlier post (or with its reference prefix where
	// the chat has no threads).
	PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error)
	// OpenThread posts p in the room and remembers the post as a thread of the
	// given kind with data, so replies there reach commands whose Spec.Thread is kind.
	OpenThread(ctx context.Context, kind, data string, p chat.Post) (chat.Ref, error)
}

// Call is one run of a command.
type Call struct {
	Spec  *Spec
	Text  string // the command text without the bot's address
	Args  Args
	Flags map[string]bool // optional literals that were present ("!" → true)
	User  Principal
	Msg   chat.Message
	// ThreadData is the data of the thread the command was given in, for thread commands.
	ThreadData string
	// DryRun asks providers to say what they would do instead of doing it.
	DryRun bool
	// AuditID is the audit entry of this call, for modules that link to it.
	AuditID int64

	Responder
}

// Flag reports whether an optional literal was present.
func (c *Call) Flag(name string) bool { return c.Flags[name] }

// Forced reports whether the call used the spec's forced form.
func (c *Call) Forced() bool { return c.Spec.ForceFlag != "" && c.Flags[c.Spec.ForceFlag] }

// Replyf replies with plain text.
func (c *Call) Replyf(ctx context.Context, format string, args ...any) error {
	_, err := c.Reply(ctx, chat.Post{Text: fmt.Sprintf(format, args...)})
	return err
}

// Permissions are the permissions a call needs: the spec's (with arguments
// filled in) and, for the forced form, the force permission.
func (s *Spec) Permissions(args Args, flags map[string]bool) []string {
	var out []string
	if p := ExpandPermission(s.Permission, args); p != "" {
		out = append(out, p)
	}
	if s.ForceFlag != "" && flags[s.ForceFlag] && s.ForcePermission != "" {
		out = append(out, ExpandPermission(s.ForcePermission, args))
	}
	return out
}

// ExpandPermission fills "{arg}" placeholders from args. A placeholder whose
// argument is empty is dropped together with the separator before it, so
// "deploy:{env}" with no env is "deploy".
func ExpandPermission(tmpl string, args Args) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	var b strings.Builder
	for i := 0; i < len(tmpl); {
		if tmpl[i] != '{' {
			b.WriteByte(tmpl[i])
			i++
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			b.WriteString(tmpl[i:])
			break
		}
		name := tmpl[i+1 : i+end]
		v := strings.ToLower(args[name])
		if v == "" {
			s := b.String()
			if n := len(s); n > 0 && (s[n-1] == ':' || s[n-1] == '.') {
				b.Reset()
				b.WriteString(s[:n-1])
			}
		} else {
			b.WriteString(v)
		}
		i += end + 1
	}
	return b.String()
}
