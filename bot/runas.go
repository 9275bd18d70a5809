package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

// RunAsAdapter is the adapter of the identity a RunAs call is audited under:
// "runas:fixer" for the service user fixer.
const RunAsAdapter = "runas"

// NotRunError is RunAs's error for a command that was not run: unknown,
// incomplete, denied, or needing a confirmation nobody can give.
type NotRunError struct{ Reason string }

func (e *NotRunError) Error() string { return e.Reason }

// Refused is true: the command was refused, not failed.
func (e *NotRunError) Refused() bool { return true }

// RunAs runs text as the opsbot user named user, with that user's
// permissions, through the normal pipeline: the text is matched as a
// command, the permission decided (as if said in the first room), the
// decision and the outcome audited, and the command's replies posted to
// every room. No one is there to answer a question, so a command that would
// ask for confirmation or for a missing argument is refused like one that is
// unknown or denied: audited, the reason posted to the rooms, and a
// *NotRunError returned. Route actions of the notify pipeline use it.
func (b *Bot) RunAs(ctx context.Context, user string, rooms []chat.Room, text string) error {
	start := time.Now()
	if len(rooms) == 0 {
		return &NotRunError{Reason: "no room to post the output to"}
	}
	id := chat.Identity{Adapter: RunAsAdapter, ID: user, Name: user}
	m := chat.Message{ID: fmt.Sprintf("runas-%d", b.clock.Now().UnixNano()), Room: rooms[0], From: id, Text: text}
	entry := store.AuditEntry{Time: b.clock.Now(), Adapter: rooms[0].Adapter, Room: roomKey(rooms[0]), UserName: user,
		Identity: id.Key(), Text: b.redactor.String(text)}
	out := &fanout{b: b, rooms: rooms}
	refuse := func(cmd, decision, reason, msg string) error {
		entry.Command, entry.Decision, entry.Reason = cmd, decision, reason
		b.appendAudit(ctx, entry)
		name := cmd
		if name == "" {
			name = "-"
		}
		b.metrics.count(name, decision)
		b.metrics.observe(time.Since(start))
		_, _ = out.Reply(ctx, chat.Post{Text: msg, Severity: chat.SeverityWarning})
		return &NotRunError{Reason: msg}
	}

	u, err := b.store.UserByName(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return refuse("", "denied", "no such user", fmt.Sprintf("Not running `%s`: there is no opsbot user %q to run it as.", text, user))
	}
	if err != nil {
		return fmt.Errorf("run as %s: %w", user, err)
	}
	groups, err := b.store.GroupsOf(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("run as %s: %w", user, err)
	}
	p := command.Principal{UserID: u.ID, Name: u.Name, Groups: groups, Identity: id}

	res := b.matcher.MatchThread(ctx, text, "")
	switch {
	case len(res.Ambiguous) > 0:
		return refuse("", "ambiguous", "", fmt.Sprintf("Not running `%s`: it matches several commands.", text))
	case res.Spec == nil:
		return refuse("", "unknown", "", fmt.Sprintf("Not running `%s`: no command matches it.", text))
	case res.Missing != nil:
		return refuse(res.Spec.Name, "invalid", "", fmt.Sprintf("Not running `%s`: it needs %s. Usage: `%s`", text, strings.ToUpper(res.Missing.Name), b.usage(res.Spec)))
	case res.Invalid != nil:
		return refuse(res.Spec.Name, "invalid", "", fmt.Sprintf("Not running `%s`: %s. Usage: `%s`", text, res.Invalid.Error(), b.usage(res.Spec)))
	}
	spec := res.Spec
	for _, k := range spec.Secret {
		if v := res.Args[k]; v != "" {
			b.redactor.Add(v)
		}
	}
	entry.Command = spec.Name
	entry.Args = b.maskArgs(spec, res.Args)
	entry.Text = b.maskText(spec, res.Args, text)
	d := b.decide(ctx, p, spec, rooms[0], res.Args, res.Flags)
	if !d.Allowed {
		return refuse(spec.Name, "denied", d.Reason, denialText(p, spec, d))
	}
	if spec.Confirm.Needed(res.Args) {
		return refuse(spec.Name, "denied", "needs confirmation", fmt.Sprintf("Not running `%s` as %s: it asks for confirmation, and no one is there to give it.", entry.Text, user))
	}
	entry.Decision, entry.Reason = "allowed", d.Reason
	call := &command.Call{Spec: spec, Text: text, Args: res.Args, Flags: res.Flags, User: p, Msg: m, DryRun: b.dryRun}
	call.AuditID = b.appendAudit(ctx, entry)
	b.metrics.observe(time.Since(start))
	return b.runWith(ctx, call, out)
}

// runWith runs a call whose replies go to r, and records its outcome as run does.
func (b *Bot) runWith(ctx context.Context, call *command.Call, r command.Responder) error {
	call.Responder = r
	start := time.Now()
	err := safeRun(ctx, call)
	outcome, errText := "ok", ""
	if err != nil {
		outcome, errText = "error", b.redactor.String(err.Error())
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			outcome = "timeout"
		case errors.Is(err, context.Canceled):
			outcome = "cancelled"
		}
		if !errors.Is(err, ErrReported) {
			_, _ = r.Reply(ctx, chat.Post{Text: fmt.Sprintf("`%s` failed: %s", call.Spec.Name, errText), Severity: chat.SeverityCritical})
		}
		b.log.Warn("command failed", "command", call.Spec.Name, "user", call.User.Name, "err", errText)
	}
	b.metrics.count(call.Spec.Name, outcome)
	if call.AuditID != 0 {
		if ferr := b.store.FinishAudit(context.WithoutCancel(ctx), call.AuditID, "allowed", outcome, errText, time.Since(start)); ferr != nil {
			b.log.Error("audit finish failed", "audit", call.AuditID, "err", ferr)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %s", call.Spec.Name, errText)
	}
	return nil
}

// fanout is the responder of a RunAs call: replies go to every room; a
// thread is opened in the first room, and its opening post shown in the others.
type fanout struct {
	b     *Bot
	rooms []chat.Room
}

func (f *fanout) Reply(ctx context.Context, p chat.Post) (chat.Ref, error) {
	var first chat.Ref
	var errs []error
	for i, r := range f.rooms {
		ref, err := f.b.Post(ctx, r, p)
		if err != nil {
			errs = append(errs, err)
		}
		if i == 0 {
			first = ref
		}
	}
	return first, errors.Join(errs...)
}

func (f *fanout) PostTo(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	return f.b.Post(ctx, room, p)
}

func (f *fanout) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	return f.b.PostInThread(ctx, parent, p)
}

func (f *fanout) OpenThread(ctx context.Context, kind, data string, p chat.Post) (chat.Ref, error) {
	ref, err := f.b.OpenThread(ctx, f.rooms[0], kind, data, p)
	if err != nil {
		return ref, err
	}
	for _, r := range f.rooms[1:] {
		if _, err := f.b.Post(ctx, r, p); err != nil {
			f.b.log.Error("post to another room of a run-as call", "room", r.String(), "err", err)
		}
	}
	return ref, nil
}

// queuer is a poster that stores a post without waiting for its delivery
// (the outbox's Enqueue).
type queuer interface {
	Enqueue(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error)
}

// PostQueued hands p, with secrets masked, to the poster and returns once it
// is stored, without waiting for its delivery, when the poster is a durable
// outbox; otherwise it posts as Post does. The notify pipeline posts this
// way, so a slow or rate-limited room doesn't hold up the others.
func (b *Bot) PostQueued(ctx context.Context, room chat.Room, p chat.Post) (chat.Ref, error) {
	if q, ok := b.poster.(queuer); ok {
		return q.Enqueue(ctx, room, b.mask(p))
	}
	return b.poster.Post(ctx, room, b.mask(p))
}
