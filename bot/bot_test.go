package bot_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

// opsModule is a small module with commands of every kind the engine handles.
type opsModule struct{ ran []string }

func (*opsModule) Name() string { return "ops" }

func (m *opsModule) Provision(h *bot.Host) error {
	run := func(ctx context.Context, c *command.Call) error {
		m.ran = append(m.ran, c.Spec.Name+" "+c.Args["app"]+c.Args["instance"]+c.Args["db"])
		return c.Replyf(ctx, "ran %s", c.Spec.Name)
	}
	for _, s := range []command.Spec{
		{Name: "restart", Grammar: "restart {instance}", Help: "restart an instance", Permission: "restart", SideEffects: true, Run: run},
		{Name: "deploy", Grammar: "deploy[!] {app} [to {env=staging}]", Help: "deploy an app", Permission: "deploy:{env}",
			ForceFlag: "!", ForcePermission: "deploy:force", SideEffects: true,
			Confirm: command.Policy{Mode: command.ConfirmWhen, When: func(a command.Args) bool { return a["env"] == "production" }}, Run: run},
		{Name: "drop", Grammar: "drop {db}", Help: "drop a database", Permission: "drop", SideEffects: true,
			Confirm: command.Policy{Mode: command.ConfirmAlways}, Run: run},
		{Name: "boom", Grammar: "boom", Help: "fails", Run: func(context.Context, *command.Call) error { return errors.New("it broke") }},
		{Name: "panics", Grammar: "panics", Help: "panics", Run: func(context.Context, *command.Call) error { panic("oops") }},
		{Name: "login", Grammar: "login {password}", Help: "has a secret argument", Secret: []string{"password"}, Run: run},
		{Name: "open-thread", Grammar: "open-thread {name}", Help: "opens a module thread", Run: func(ctx context.Context, c *command.Call) error {
			_, err := c.OpenThread(ctx, "widget", c.Args["name"], chat.Post{Text: "thread for " + c.Args["name"]})
			return err
		}},
		{Name: "widget.poke", Grammar: "poke", Thread: "widget", Help: "poke the widget of this thread", Run: func(ctx context.Context, c *command.Call) error {
			return c.Replyf(ctx, "poked %s", c.ThreadData)
		}},
	} {
		if err := h.Command(s); err != nil {
			return err
		}
	}
	return nil
}

func newBot(t *testing.T) (*bottest.Bot, *opsModule) {
	m := &opsModule{}
	tb := bottest.New(t, bottest.Modules(m))
	return tb, m
}

func auditDecisions(t *testing.T, tb *bottest.Bot, cmd string) []string {
	t.Helper()
	entries, err := tb.Store.QueryAudit(tb.Ctx, store.AuditFilter{Command: cmd})
	require.NoError(t, err)
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Decision+"/"+entries[i].Outcome)
	}
	return out
}

func TestGuestMayOnlyRunCommandsWithoutSideEffects(t *testing.T) {
	tb, m := newBot(t)
	require.Contains(t, tb.Say("stranger", "ops", "ping"), "pong")
	help := tb.Say("stranger", "ops", "help")
	require.Contains(t, help, "ping")
	require.NotContains(t, help, "restart", "help lists only what the user may run")
	reply := tb.Say("stranger", "ops", "restart web1")
	require.Contains(t, reply, "guest")
	require.Empty(t, m.ran)
	require.Equal(t, []string{"denied/"}, auditDecisions(t, tb, "restart"))
}

func TestPermissionNamedThenGrantedInChat(t *testing.T) {
	tb, m := newBot(t)
	tb.User("alice", "ops")
	tb.User("root", "admins")
	reply := tb.Say("alice", "ops", "restart web1")
	require.Contains(t, reply, "needs the permission `restart`")
	require.Contains(t, tb.Say("alice", "ops", "auth add restart to alice"), "needs the permission `auth`", "only admins administer")

	require.Contains(t, tb.Say("root", "ops", "auth add restart to ops"), "Granted `restart` to group:ops")
	require.Contains(t, tb.Say("alice", "ops", "help"), "restart", "help now lists it")
	require.Contains(t, tb.Say("alice", "ops", "restart web1"), "ran restart")
	require.Equal(t, []string{"restart web1"}, m.ran)
	require.Equal(t, []string{"denied/", "allowed/ok"}, auditDecisions(t, tb, "restart"))
	require.Contains(t, tb.Say("root", "ops", "auth list"), "`restart` → group:ops")

	require.Contains(t, tb.Say("root", "ops", "auth remove restart from ops"), "Removed")
	require.Contains(t, tb.Say("alice", "ops", "restart web1"), "needs the permission")
}

func TestPermissionFromArguments(t *testing.T) {
	tb, m := newBot(t)
	tb.User("bob", "dev")
	tb.Grant("deploy:staging", "group:dev")
	require.Contains(t, tb.Say("bob", "ops", "deploy api"), "ran deploy")
	reply := tb.Say("bob", "ops", "deploy api to production")
	require.Contains(t, reply, "needs the permission `deploy:production`")
	reply = tb.Say("bob", "ops", "deploy! api")
	require.Contains(t, reply, "needs the permission `deploy:force`", "the forced form is a separate permission")
	require.Len(t, m.ran, 1)
}

var codeRE = regexp.MustCompile(`yes (\d{4})`)

func TestConfirmationRunsAfterYes(t *testing.T) {
	tb, m := newBot(t)
	tb.User("alice", "ops")
	tb.User("mallory", "ops")
	tb.Grant("drop", "group:ops")
	reply := tb.Say("alice", "ops", "drop users")
	require.Contains(t, reply, "needs confirmation")
	code := codeRE.FindStringSubmatch(reply)[1]
	require.Empty(t, m.ran, "nothing runs before the confirmation")

	require.Contains(t, tb.Say("mallory", "ops", "yes "+code), "no open confirmation", "a confirmation belongs to who asked")
	require.Contains(t, tb.Say("alice", "ops", "yes "+code), "ran drop")
	require.Equal(t, []string{"drop users"}, m.ran)
	require.Contains(t, tb.Say("alice", "ops", "yes "+code), "no open confirmation", "a confirmation is answered once")
	require.Equal(t, []string{"confirmed/ok"}, auditDecisions(t, tb, "drop"))
}

func TestConfirmationButtonFallbackAndCancel(t *testing.T) {
	tb, m := newBot(t)
	tb.User("alice", "ops")
	tb.Grant("drop", "group:ops")
	reply := tb.Say("alice", "ops", "drop users")
	require.Contains(t, reply, "1. Confirm", "buttons become a numbered list where the chat has none")
	require.Contains(t, tb.Say("alice", "ops", "2"), "Cancelled")
	require.Empty(t, m.ran)
	require.Equal(t, []string{"cancelled/"}, auditDecisions(t, tb, "drop"))

	reply = tb.Say("alice", "ops", "drop users")
	require.Contains(t, tb.Say("alice", "ops", "1"), "ran drop")
	require.Len(t, m.ran, 1)
	_ = reply
}

func TestConfirmationExpires(t *testing.T) {
	tb, m := newBot(t)
	tb.User("alice", "ops")
	tb.Grant("deploy:*", "group:ops")
	reply := tb.Say("alice", "ops", "deploy api to production")
	require.Contains(t, reply, "needs confirmation")
	require.Contains(t, reply, "2 minutes")
	code := codeRE.FindStringSubmatch(reply)[1]

	// The bot's own expiry loop also wakes on the fake clock; whichever call
	// takes the confirmation first tells the room, exactly once.
	tb.Clock.Advance(2*time.Minute + time.Second)
	tb.Bot.ExpireConfirmations(tb.Ctx)
	tb.WaitFor("ops", "expired; nothing was run")
	expired := 0
	for _, p := range tb.Chat.All() {
		if strings.Contains(p.Post.Text, "expired; nothing was run") {
			expired++
		}
	}
	require.Equal(t, 1, expired)
	require.Contains(t, tb.Say("alice", "ops", "yes "+code), "no open confirmation")
	require.Empty(t, m.ran)
	require.Equal(t, []string{"expired/"}, auditDecisions(t, tb, "deploy"))
}

func TestUnknownAmbiguousInvalidAndFailures(t *testing.T) {
	tb, _ := newBot(t)
	tb.User("root", "admins")
	require.Contains(t, tb.Say("root", "ops", "restrat web1"), "Did you mean `restart`")
	require.Contains(t, tb.Say("root", "ops", "restart"), "needs INSTANCE")
	require.Contains(t, tb.Say("root", "ops", "boom"), "`boom` failed: it broke")
	require.Contains(t, tb.Say("root", "ops", "panics"), "internal error")
	require.Equal(t, []string{"allowed/error"}, auditDecisions(t, tb, "boom"))
	unknown, err := tb.Store.QueryAudit(tb.Ctx, store.AuditFilter{Text: "restrat"})
	require.NoError(t, err)
	require.Len(t, unknown, 1)
	require.Equal(t, "unknown", unknown[0].Decision)
}

func TestSecretArgumentsAreRedacted(t *testing.T) {
	tb, _ := newBot(t)
	tb.User("alice")
	tb.Say("alice", "ops", "login hunter2-secret")
	entries, err := tb.Store.QueryAudit(tb.Ctx, store.AuditFilter{Command: "login"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.NotContains(t, entries[0].Text, "hunter2-secret")
	require.Equal(t, "[redacted]", entries[0].Args["password"])
	require.Contains(t, tb.Say("alice", "ops", "explain login hunter2-secret"), `password = "[redacted]"`)
}

func TestAddressing(t *testing.T) {
	tb, _ := newBot(t)
	m := tb.Message("alice", "ops", "ping")
	m.Direct = false
	require.Empty(t, tb.Send(m), "room chatter not addressed to the bot is ignored")
	for _, text := range []string{"opsbot: ping", "@opsbot ping", "opsbot, ping", "OpsBot ping"} {
		m := tb.Message("alice", "ops", text)
		m.Direct = false
		require.Contains(t, bottest.Texts(tb.Send(m)), "pong", text)
	}
}

func TestThreadCommandsReachTheirModule(t *testing.T) {
	tb, _ := newBot(t)
	posts := tb.Send(tb.Message("alice", "ops", "open-thread gizmo"))
	require.Len(t, posts, 1)
	root := posts[0].Ref

	m := tb.Message("alice", "ops", "poke")
	m.Direct = false
	m.Thread = root
	replies := tb.Send(m)
	require.Len(t, replies, 1)
	require.Equal(t, "poked gizmo", replies[0].Post.Text)
	require.Equal(t, root.ID, replies[0].Thread, "the reply lands in the thread")

	outside := tb.Message("alice", "ops", "poke")
	require.Contains(t, bottest.Texts(tb.Send(outside)), "I don't know", "a thread command matches only in its thread")
	chatter := tb.Message("alice", "ops", "nice work everyone")
	chatter.Direct, chatter.Thread = false, root
	require.Empty(t, tb.Send(chatter), "chatter in a module thread is not answered")
}

func TestLinkCode(t *testing.T) {
	tb, _ := newBot(t)
	u := tb.User("carol", "ops")
	require.NoError(t, tb.Store.CreateLinkCode(tb.Ctx, u.ID, "ABCDEF2345", tb.Clock.Now().Add(time.Minute)))
	m := tb.Message("carol-on-irc", "ops", "link ABCDEF2345")
	require.Contains(t, bottest.Texts(tb.Send(m)), "Linked test:carol-on-irc to opsbot user carol")
	require.Contains(t, tb.Say("carol-on-irc", "ops", "whoami"), "You are carol")
	require.Contains(t, tb.Say("other", "ops", "link ABCDEF2345"), "unknown or expired", "a code works once")
	entries, err := tb.Store.QueryAudit(tb.Ctx, store.AuditFilter{Command: "link"})
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.Contains(e.Text, "ABCDEF2345"), "link codes are secrets in the audit log")
	}
}

func TestMetricsCountCommandsByOutcome(t *testing.T) {
	tb, _ := newBot(t)
	tb.User("alice", "ops")
	tb.Say("alice", "ops", "ping")
	tb.Say("alice", "ops", "ping")
	tb.Say("alice", "ops", "restart web1")
	tb.Say("alice", "ops", "boom")
	families, err := tb.App.Registry.Gather()
	require.NoError(t, err)
	counts := map[string]float64{}
	var observed uint64
	for _, f := range families {
		switch f.GetName() {
		case "opsbot_commands_total":
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				counts[labels["command"]+"/"+labels["outcome"]] = m.GetCounter().GetValue()
			}
		case "opsbot_dispatch_seconds":
			observed = f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	require.Equal(t, 2.0, counts["ping/ok"])
	require.Equal(t, 1.0, counts["restart/denied"])
	require.Equal(t, 1.0, counts["boom/error"])
	require.Equal(t, uint64(4), observed)
}
