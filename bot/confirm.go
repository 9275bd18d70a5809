package bot

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

var confirmAnswer = regexp.MustCompile(`(?i)^(yes|y|confirm|no|n|cancel)\s+(\d{4,8})$`)

// parseConfirmAnswer recognises "yes 4821" and "no 4821".
func parseConfirmAnswer(text string) (code string, yes, ok bool) {
	m := confirmAnswer.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return "", false, false
	}
	switch strings.ToLower(m[1]) {
	case "yes", "y", "confirm":
		return m[2], true, true
	}
	return m[2], false, true
}

// pending is what a confirmation keeps to resume the call.
type pending struct {
	Msg        chat.Message `json:"msg"`
	Text       string       `json:"text"`
	ThreadKind string       `json:"thread_kind,omitempty"`
	ThreadData string       `json:"thread_data,omitempty"`
}

func (b *Bot) askConfirmation(ctx context.Context, call *command.Call, auditID int64) {
	ttl := call.Spec.Confirm.Timeout
	if ttl <= 0 {
		ttl = b.confirmTTL
	}
	payload, _ := json.Marshal(pending{Msg: call.Msg, Text: call.Text, ThreadKind: call.Spec.Thread, ThreadData: call.ThreadData})
	now := b.clock.Now()
	var code string
	for attempt := 0; ; attempt++ {
		code = randomCode()
		err := b.store.CreateConfirmation(ctx, store.Confirmation{
			Code: code, UserKey: call.Msg.From.Key(), Room: roomKey(call.Msg.Room), Command: call.Spec.Name,
			Text: b.maskText(call.Spec, call.Args, call.Text), Payload: string(payload), AuditID: auditID,
			Created: now, Expires: now.Add(ttl),
		})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrExists) || attempt > 5 {
			b.log.Error("store confirmation failed", "err", err)
			b.reply(ctx, call.Msg, chat.Post{Text: "Sorry, I could not record the confirmation; nothing was run.", Severity: chat.SeverityWarning})
			_ = b.store.FinishAudit(ctx, auditID, "error", "", err.Error(), 0)
			return
		}
	}
	b.metrics.count(call.Spec.Name, "pending")
	impact := ""
	if d := call.Spec.Confirm.Describe; d != nil {
		if s := d(ctx, call.Args); s != "" {
			impact = b.redactor.String(s) + "\n"
		}
	}
	b.reply(ctx, call.Msg, chat.Post{
		Text:     impact + fmt.Sprintf("`%s` needs confirmation. Reply `yes %s` within %s to run it, or `no %s`.", b.maskText(call.Spec, call.Args, call.Text), code, humanDuration(ttl), code),
		Severity: chat.SeverityWarning,
		Buttons: []chat.Button{
			{ID: "confirm-" + code, Label: "Confirm", Value: "yes " + code, Style: "danger"},
			{ID: "cancel-" + code, Label: "Cancel", Value: "no " + code},
		},
	})
}

func randomCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9000))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%04d", n.Int64()+1000)
}

func humanDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// answerConfirmation handles "yes CODE" and "no CODE": only the user who asked
// can answer, once, before it expires.
func (b *Bot) answerConfirmation(ctx context.Context, m chat.Message, p command.Principal, code string, yes bool) {
	c, err := b.store.TakeConfirmation(ctx, code, m.From.Key(), b.clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		// A click on someone else's Confirm is answered to the clicker alone.
		if b.answerClick(ctx, m, chat.Post{Text: fmt.Sprintf("Not yours: only the person who asked can answer confirmation `%s` (or it has expired or been answered already).", code)}, true) {
			return
		}
		b.reply(ctx, m, chat.Post{Text: fmt.Sprintf("There is no open confirmation `%s` of yours: it may have expired, been answered, or belong to someone else.", code)})
		return
	}
	if err != nil {
		b.log.Error("take confirmation failed", "err", err)
		b.reply(ctx, m, chat.Post{Text: "Sorry, I could not check that confirmation; nothing was run.", Severity: chat.SeverityWarning})
		return
	}
	if !yes {
		_ = b.store.FinishAudit(ctx, c.AuditID, "cancelled", "", "", 0)
		b.metrics.count(c.Command, "cancelled")
		if b.answerClick(ctx, m, chat.Post{Text: fmt.Sprintf("Cancelled `%s` (%s); nothing was run.", c.Text, clicker(m, p.Name))}, false) {
			return
		}
		b.reply(ctx, m, chat.Post{Text: fmt.Sprintf("Cancelled `%s`; nothing was run.", c.Text)})
		return
	}
	var pd pending
	if err := json.Unmarshal([]byte(c.Payload), &pd); err != nil {
		b.reply(ctx, m, chat.Post{Text: "That confirmation is unreadable; nothing was run.", Severity: chat.SeverityWarning})
		return
	}
	// Match again: the command is data, so the same text gives the same call;
	// the rules are checked again in case they changed while waiting.
	res := b.matcher.MatchThread(ctx, pd.Text, pd.ThreadKind)
	if res.Spec == nil || res.Spec.Name != c.Command || res.Missing != nil || res.Invalid != nil {
		_ = b.store.FinishAudit(ctx, c.AuditID, "error", "", "command no longer matches", 0)
		b.reply(ctx, m, chat.Post{Text: fmt.Sprintf("`%s` no longer matches a command; nothing was run.", c.Text)})
		return
	}
	if d := b.decide(ctx, p, res.Spec, pd.Msg.Room, res.Args, res.Flags); !d.Allowed {
		_ = b.store.FinishAudit(ctx, c.AuditID, "denied", "", d.Reason, 0)
		b.reply(ctx, m, chat.Post{Text: denialText(p, res.Spec, d), Severity: chat.SeverityWarning})
		return
	}
	call := &command.Call{Spec: res.Spec, Text: pd.Text, Args: res.Args, Flags: res.Flags, User: p, Msg: pd.Msg,
		ThreadData: pd.ThreadData, DryRun: b.dryRun, AuditID: c.AuditID}
	b.answerClick(ctx, m, chat.Post{Text: fmt.Sprintf("Confirmed `%s` (%s).", c.Text, clicker(m, p.Name)), Severity: chat.SeveritySuccess}, false)
	b.run(ctx, call, "confirmed")
}

// ExpireConfirmations marks confirmations whose time ran out as expired and
// tells their rooms. The bot calls it periodically; tests call it after
// advancing a fake clock.
func (b *Bot) ExpireConfirmations(ctx context.Context) {
	expired, err := b.store.ExpireConfirmations(ctx, b.clock.Now())
	if err != nil {
		b.log.Error("expire confirmations failed", "err", err)
		return
	}
	for _, c := range expired {
		_ = b.store.FinishAudit(ctx, c.AuditID, "expired", "", "", 0)
		b.metrics.count(c.Command, "expired")
		var pd pending
		if json.Unmarshal([]byte(c.Payload), &pd) != nil {
			continue
		}
		b.reply(ctx, pd.Msg, chat.Post{Text: fmt.Sprintf("Confirmation `%s` for `%s` expired; nothing was run.", c.Code, c.Text)})
	}
}

func (b *Bot) expireLoop(ctx context.Context) {
	// Confirmations that ran out while opsbot was down are told at once.
	b.ExpireConfirmations(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.clock.After(5 * time.Second):
			b.ExpireConfirmations(ctx)
		}
	}
}
