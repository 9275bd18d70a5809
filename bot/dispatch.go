package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/auth"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

// Handle takes one inbound message through the whole pipeline. It never
// returns an error: whatever goes wrong is told to the user and logged.
func (b *Bot) Handle(ctx context.Context, m chat.Message) {
	start := time.Now()
	text, ok := b.inboundText(m)
	threadKind, threadData := b.threadOf(ctx, m.Thread)
	if !ok && threadKind == "" {
		return
	}
	if text == "" {
		return
	}
	p, err := b.Principal(ctx, m.From)
	if err != nil {
		b.log.Error("identity lookup failed", "identity", m.From.Key(), "err", err)
		b.reply(ctx, m, chat.Post{Text: "Sorry, I can't check who you are right now; nothing was run.", Severity: chat.SeverityWarning})
		return
	}
	if code, yes, isAnswer := parseConfirmAnswer(text); isAnswer {
		b.answerConfirmation(ctx, m, p, code, yes)
		return
	}

	res := b.matcher.MatchThread(ctx, text, threadKind)
	if res.Spec == nil || res.Spec.Thread == "" {
		if !ok {
			return // chatter in a module's thread that is neither a thread command nor addressed to the bot
		}
		threadData = ""
	}
	b.dispatch(ctx, m, p, text, res, threadData, start)
}

// inboundText is the command text of a message: a button's value, the answer
// to a numbered choice, or the text after the bot's address.
func (b *Bot) inboundText(m chat.Message) (string, bool) {
	if m.Action != nil {
		return strings.TrimSpace(m.Action.Value), true
	}
	if v, ok := b.sender.ResolveChoice(m.Room, m.Thread, strings.TrimSpace(m.Text)); ok {
		return v, true
	}
	return b.addressed(m)
}

func (b *Bot) dispatch(ctx context.Context, m chat.Message, p command.Principal, text string, res command.Result, threadData string, start time.Time) {
	entry := store.AuditEntry{
		Time: b.clock.Now(), Adapter: m.Room.Adapter, Room: roomKey(m.Room), UserName: p.Name,
		Identity: m.From.Key(), Text: b.redactor.String(text),
	}
	switch {
	case len(res.Ambiguous) > 0:
		names := make([]string, 0, len(res.Ambiguous))
		for _, s := range res.Ambiguous {
			names = append(names, "`"+s.Name+"`")
		}
		b.refuse(ctx, m, entry, "", "ambiguous", fmt.Sprintf("`%s` matches several commands: %s. Be more specific.", text, strings.Join(names, ", ")), start)
		return
	case res.Spec == nil:
		msg := fmt.Sprintf("I don't know `%s`.", text)
		if len(res.Suggestions) > 0 {
			msg += " Did you mean " + quoteList(res.Suggestions) + "?"
		}
		msg += " Say `help` for what I can do."
		b.refuse(ctx, m, entry, "", "unknown", msg, start)
		return
	case res.Missing != nil:
		b.askForMissing(ctx, m, entry, text, res, start)
		return
	case res.Invalid != nil:
		b.refuse(ctx, m, entry, res.Spec.Name, "invalid", fmt.Sprintf("%s. Usage: `%s`", res.Invalid.Error(), b.usage(res.Spec)), start)
		return
	}
	spec := res.Spec
	// A secret typed in chat (a password, a token) is masked from then on
	// wherever it could surface: replies, job output, logs, the audit log.
	for _, k := range spec.Secret {
		if v := res.Args[k]; v != "" {
			b.redactor.Add(v)
		}
	}
	entry.Command = spec.Name
	entry.Args = b.maskArgs(spec, res.Args)
	entry.Text = b.maskText(spec, res.Args, text)

	d := b.decide(ctx, p, spec, m.Room, res.Args, res.Flags)
	if !d.Allowed {
		entry.Decision, entry.Reason = "denied", d.Reason
		b.appendAudit(ctx, entry)
		b.metrics.count(spec.Name, "denied")
		b.metrics.observe(time.Since(start))
		b.reply(ctx, m, chat.Post{Text: denialText(p, spec, d), Severity: chat.SeverityWarning})
		return
	}
	call := &command.Call{Spec: spec, Text: text, Args: res.Args, Flags: res.Flags, User: p, Msg: m,
		ThreadData: threadData, DryRun: b.dryRun}
	if spec.Confirm.Needed(res.Args) {
		entry.Decision, entry.Reason = "pending", d.Reason
		id := b.appendAudit(ctx, entry)
		b.metrics.observe(time.Since(start))
		b.askConfirmation(ctx, call, id)
		return
	}
	entry.Decision, entry.Reason = "allowed", d.Reason
	call.AuditID = b.appendAudit(ctx, entry)
	b.metrics.observe(time.Since(start))
	b.run(ctx, call, "allowed")
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, " or ")
}

func denialText(p command.Principal, spec *command.Spec, d auth.Decision) string {
	if p.Guest && spec.SideEffects {
		return fmt.Sprintf("Sorry, `%s` changes things and you are a guest here. Link your chat account to your opsbot user with `link CODE` (an admin gets the code with `opsbot user link-code NAME`).", spec.Name)
	}
	if p.Guest {
		return fmt.Sprintf("Sorry, `%s` needs the permission `%s`, and you are a guest here: link your chat account with `link CODE` first.", spec.Name, d.Missing)
	}
	return fmt.Sprintf("Sorry %s, `%s` needs the permission `%s`. An admin can grant it with `auth add %s to %s`.", p.Name, spec.Name, d.Missing, d.Missing, p.Name)
}

func (b *Bot) refuse(ctx context.Context, m chat.Message, entry store.AuditEntry, cmd, decision, msg string, start time.Time) {
	entry.Command, entry.Decision = cmd, decision
	b.appendAudit(ctx, entry)
	name := cmd
	if name == "" {
		name = "-"
	}
	b.metrics.count(name, decision)
	b.metrics.observe(time.Since(start))
	b.reply(ctx, m, chat.Post{Text: msg})
}

// askForMissing offers the values of a missing argument as choices when its
// type can list them, else explains the usage.
func (b *Bot) askForMissing(ctx context.Context, m chat.Message, entry store.AuditEntry, text string, res command.Result, start time.Time) {
	spec, param := res.Spec, res.Missing
	if len(res.Choices) == 0 {
		b.refuse(ctx, m, entry, spec.Name, "invalid", fmt.Sprintf("`%s` needs %s. Usage: `%s`", spec.Name, strings.ToUpper(param.Name), b.usage(spec)), start)
		return
	}
	entry.Command, entry.Decision = spec.Name, "incomplete"
	b.appendAudit(ctx, entry)
	b.metrics.count(spec.Name, "incomplete")
	b.metrics.observe(time.Since(start))
	post := chat.Post{Text: fmt.Sprintf("Which %s?", param.Name)}
	for i, c := range res.Choices {
		post.Buttons = append(post.Buttons, chat.Button{ID: fmt.Sprintf("choice-%d", i+1), Label: c, Value: text + " " + c})
	}
	b.reply(ctx, m, post)
}

func (b *Bot) usage(s *command.Spec) string {
	if g, err := command.Compile(s.Grammar); err == nil {
		return g.Usage()
	}
	return s.Grammar
}

// decide checks a call against the permission rules.
func (b *Bot) decide(ctx context.Context, p command.Principal, spec *command.Spec, room chat.Room, args command.Args, flags map[string]bool) auth.Decision {
	rules, err := b.Rules(ctx)
	if err != nil {
		b.log.Error("load rules failed", "err", err)
		return auth.Decision{Reason: "permission rules unavailable"}
	}
	return auth.Decide(rules, auth.Request{Principal: p, Command: spec.Name, Permissions: spec.Permissions(args, flags),
		SideEffects: spec.SideEffects, Room: room, Args: args})
}

// MayRun reports whether p may run some form of spec in room: used by help to
// show only what a user can run.
func (b *Bot) MayRun(ctx context.Context, p command.Principal, spec *command.Spec, room chat.Room) bool {
	if b.decide(ctx, p, spec, room, command.Args{}, nil).Allowed {
		return true
	}
	if p.Guest || spec.Permission == "" {
		return false
	}
	base := command.ExpandPermission(spec.Permission, command.Args{})
	rules, err := b.Rules(ctx)
	if err != nil {
		return false
	}
	for _, r := range rules {
		if strings.HasPrefix(strings.ToLower(r.Permission), strings.ToLower(base)+":") &&
			auth.Decide([]store.Rule{r}, auth.Request{Principal: p, Command: spec.Name, Permissions: []string{r.Permission}, Room: room}).Allowed {
			return true
		}
	}
	return false
}

// run calls the handler and records its outcome.
func (b *Bot) run(ctx context.Context, call *command.Call, decision string) {
	call.Responder = &responder{b: b, msg: call.Msg}
	start := time.Now()
	err := safeRun(ctx, call)
	dur := time.Since(start)
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
			b.reply(ctx, call.Msg, chat.Post{Text: fmt.Sprintf("`%s` failed: %s", call.Spec.Name, errText), Severity: chat.SeverityCritical})
		}
		b.log.Warn("command failed", "command", call.Spec.Name, "user", call.User.Name, "err", errText)
	}
	b.metrics.count(call.Spec.Name, outcome)
	if call.AuditID != 0 {
		if ferr := b.store.FinishAudit(context.WithoutCancel(ctx), call.AuditID, decision, outcome, errText, dur); ferr != nil {
			b.log.Error("audit finish failed", "audit", call.AuditID, "err", ferr)
		}
	}
}

func safeRun(ctx context.Context, call *command.Call) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in %s (panic: %v)", call.Spec.Name, r)
			_ = debug.Stack()
		}
	}()
	return call.Spec.Run(ctx, call)
}

func (b *Bot) appendAudit(ctx context.Context, e store.AuditEntry) int64 {
	id, err := b.store.AppendAudit(context.WithoutCancel(ctx), e)
	if err != nil {
		b.log.Error("audit append failed", "command", e.Command, "err", err)
	}
	return id
}

func (b *Bot) maskArgs(spec *command.Spec, args command.Args) map[string]string {
	out := make(map[string]string, len(args))
	for k, v := range args {
		out[k] = b.redactor.String(v)
	}
	for _, k := range spec.Secret {
		if _, ok := out[k]; ok {
			out[k] = "[redacted]"
		}
	}
	return out
}

func (b *Bot) maskText(spec *command.Spec, args command.Args, text string) string {
	secrets := make([]string, 0, len(spec.Secret))
	for _, k := range spec.Secret {
		if v := args[k]; v != "" {
			secrets = append(secrets, v)
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, "[redacted]")
	}
	return b.redactor.String(text)
}

func (b *Bot) reply(ctx context.Context, m chat.Message, p chat.Post) {
	var err error
	if !m.Thread.IsZero() {
		_, err = b.PostInThread(ctx, m.Thread, p)
	} else {
		_, err = b.Post(ctx, m.Room, p)
	}
	if err != nil {
		b.log.Error("reply failed", "room", m.Room.String(), "err", err)
	}
}

func roomKey(r chat.Room) string { return r.Adapter + ":" + r.ID }

// Rules are the permission rules in force: the config's, then the store's.
func (b *Bot) Rules(ctx context.Context) ([]store.Rule, error) {
	dyn, err := b.store.ListRules(ctx)
	if err != nil {
		return nil, err
	}
	return append(append([]store.Rule(nil), b.staticRules...), dyn...), nil
}
