package bot_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

// runasModule has a command that replies, one that asks for confirmation and one that fails.
type runasModule struct{ ran []string }

func (*runasModule) Name() string { return "runas" }

func (m *runasModule) Provision(h *bot.Host) error {
	for _, s := range []command.Spec{
		{Name: "fix", Grammar: "fix {host}", Permission: "fix", SideEffects: true, Run: func(ctx context.Context, c *command.Call) error {
			m.ran = append(m.ran, c.User.Name+" fixed "+c.Args["host"])
			return c.Replyf(ctx, "fixed %s", c.Args["host"])
		}},
		{Name: "wipe", Grammar: "wipe {host}", Permission: "fix", SideEffects: true, Confirm: command.Policy{Mode: command.ConfirmAlways},
			Run: func(ctx context.Context, c *command.Call) error { m.ran = append(m.ran, "wiped"); return nil }},
		{Name: "broken", Grammar: "broken", Run: func(ctx context.Context, c *command.Call) error { return errors.New("it broke") }},
	} {
		if err := h.Command(s); err != nil {
			return err
		}
	}
	return nil
}

func TestRunAs(t *testing.T) {
	m := &runasModule{}
	tb := bottest.New(t, bottest.Modules(m))
	tb.User("fixer", "robots")
	tb.User("nobody")
	tb.Grant("fix", "group:robots")
	rooms := []chat.Room{{Adapter: "test", ID: "dba"}, {Adapter: "test", ID: "ops"}}
	ctx := tb.Ctx

	require.NoError(t, tb.Bot.RunAs(ctx, "fixer", rooms, "fix db1"))
	assert.Equal(t, []string{"fixer fixed db1"}, m.ran)
	tb.WaitFor("dba", "fixed db1")
	tb.WaitFor("ops", "fixed db1")

	var notRun *bot.NotRunError
	for _, tc := range []struct{ user, text, reply string }{
		{"nobody", "fix db1", "needs the permission `fix`"},
		{"fixer", "wipe db1", "asks for confirmation, and no one is there to give it"},
		{"fixer", "frobnicate", "no command matches it"},
		{"fixer", "fix", "it needs HOST"},
		{"ghost", "fix db1", `there is no opsbot user "ghost"`},
	} {
		err := tb.Bot.RunAs(ctx, tc.user, rooms, tc.text)
		require.ErrorAs(t, err, &notRun, tc.text)
		assert.Contains(t, err.Error(), tc.reply)
		tb.WaitFor("ops", tc.reply)
	}
	assert.Equal(t, []string{"fixer fixed db1"}, m.ran, "nothing else ran")

	err := tb.Bot.RunAs(ctx, "fixer", rooms, "broken")
	require.Error(t, err)
	assert.False(t, errors.As(err, &notRun), "a failure is not a refusal")
	tb.WaitFor("dba", "`broken` failed: it broke")

	entries, err := tb.Store.QueryAudit(ctx, store.AuditFilter{User: "fixer"})
	require.NoError(t, err)
	got := map[string]string{}
	for _, e := range entries {
		assert.Equal(t, "runas:fixer", e.Identity)
		got[e.Text] = e.Decision + "/" + e.Outcome
	}
	assert.Equal(t, map[string]string{"fix db1": "allowed/ok", "wipe db1": "denied/", "frobnicate": "unknown/", "fix": "invalid/", "broken": "allowed/error"}, got)
}
