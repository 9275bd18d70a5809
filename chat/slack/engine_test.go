package slack_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat/slack"
	"github.com/opsbot/opsbot/chat/slack/slacktest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
)

// The engine tests run the real bot (core commands, permissions,
// confirmations, the outbox) with the Slack adapter in front of the fake
// Slack.

const rigConfig = `
users:
  - name: alice
    groups: [ops]
    identities: ["slack:U0ALICE01"]
  - name: bob
    groups: [ops]
    identities: ["slack:U0BOBXX01"]
rules:
  - permission: restart
    groups: [ops]
  - permission: deploy
    groups: [ops]
outbox:
  limits:
    slack: {room_rate: 0, adapter_rate: 0}
`

// rig is a running opsbot with the Slack adapter on a fake Slack.
type rig struct {
	fake    *slacktest.Server
	adapter *slack.Adapter
	app     *app.App
	mod     *testModule
	logs    *lockedBuffer
}

type rigOptions struct {
	mode     string // "" socket, or events
	database string // "" SQLite in a temp dir
	cfg      func(*slack.Config)
}

func startRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	fake := slacktest.Start(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "opsbot.yaml")
	if err := os.WriteFile(cfgFile, []byte(rigConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	mod := &testModule{}
	a, err := app.Open(ctx, app.Options{ConfigFile: cfgFile, DataDir: filepath.Join(dir, "data"), DatabaseURL: o.database,
		Clock: clock.Real{}, LogOutput: newTestWriter(t, logs), Modules: append(app.CoreModules(), mod)})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	cfg := fastConfig(fake)
	cfg.SlashCommands = map[string]string{"/health": "ping"}
	if o.mode == slack.ModeEvents {
		cfg.Mode, cfg.AppToken, cfg.SigningSecret = slack.ModeEvents, "", slacktest.SigningSecret
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	ad, err := slack.New(cfg, slack.Options{Logger: a.Log, DB: a.Store.DB(), BotName: "opsbot"})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if err := a.Build(ctx, ad); err != nil {
		t.Fatalf("build: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	if o.mode == slack.ModeEvents {
		srv := httptest.NewServer(ad.Handler())
		t.Cleanup(srv.Close)
		fake.EventsURL = srv.URL + "/hooks/slack"
	}
	ran := make(chan error, 1)
	go func() { ran <- a.Bot.Run(ctx, ad) }()
	t.Cleanup(func() {
		cancel()
		<-ran
		_ = a.Stop(context.Background())
		a.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return &rig{fake: fake, adapter: ad, app: a, mod: mod, logs: logs}
}

// testModule adds a command that needs confirmation, one with an argument
// offered as buttons when missing, and one that counts its runs.
type testModule struct {
	mu   sync.Mutex
	runs []string
}

func (*testModule) Name() string { return "slacktest" }

func (m *testModule) Provision(h *bot.Host) error {
	record := func(what string) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.runs = append(m.runs, what)
	}
	for _, s := range []command.Spec{
		{Name: "restart", Grammar: "restart {service}", Help: "restart a service", Permission: "restart", SideEffects: true,
			Confirm: command.Policy{Mode: command.ConfirmAlways},
			Run: func(ctx context.Context, c *command.Call) error {
				record("restart " + c.Args["service"] + " by " + c.User.Name)
				return c.Replyf(ctx, "restarted %s", c.Args["service"])
			}},
		{Name: "deploy", Grammar: "deploy {app} {env:enum(staging|production)}", Help: "deploy an app", Permission: "deploy", SideEffects: true,
			Run: func(ctx context.Context, c *command.Call) error {
				record("deploy " + c.Args["app"] + " " + c.Args["env"])
				return c.Replyf(ctx, "deploying %s to %s", c.Args["app"], c.Args["env"])
			}},
		{Name: "count", Grammar: "count {word}", Help: "count runs",
			Run: func(ctx context.Context, c *command.Call) error {
				record("count " + c.Args["word"])
				return c.Replyf(ctx, "counted %s", c.Args["word"])
			}},
	} {
		if err := h.Command(s); err != nil {
			return err
		}
	}
	return nil
}

func (m *testModule) ran() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.runs)
}

const wait = 5 * time.Second

// eventually polls cond (the fake Slack has no channel to wait on) until it
// holds, or fails the test saying what.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", wait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func containing(posts []string, part string) bool {
	return slices.ContainsFunc(posts, func(p string) bool { return strings.Contains(p, part) })
}

func count(posts []string, part string) int {
	n := 0
	for _, p := range posts {
		if strings.Contains(p, part) {
			n++
		}
	}
	return n
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// mention is how Slack writes a mention of the bot.
var mention = "<@" + slacktest.BotUserID + ">"

func TestMentionRunsACommandAndRepliesInThread(t *testing.T) {
	r := startRig(t, rigOptions{})
	ts := must[string](t)(r.fake.Say("alice", "ops", mention+" count apples"))
	eventually(t, "the answer in the mention's thread", func() bool { return containing(r.fake.Thread("ops", ts), "counted apples") })
	// The mention came twice (message and app_mention); a later command's
	// answer means the twin was processed before it.
	ts2 := must[string](t)(r.fake.Say("alice", "ops", mention+" count pears"))
	eventually(t, "the second answer", func() bool { return containing(r.fake.Thread("ops", ts2), "counted pears") })
	if got := r.mod.ran(); !slices.Equal(got, []string{"count apples", "count pears"}) {
		t.Errorf("runs %q, want each command once", got)
	}
	if n := count(r.fake.Thread("ops", ts), "counted"); n != 1 {
		t.Errorf("%d answers in the first thread, want 1", n)
	}
}

func TestReplyInAThreadStaysInTheThread(t *testing.T) {
	r := startRig(t, rigOptions{})
	root := must[string](t)(r.fake.Say("bob", "ops", "the deploy is slow today"))
	must[string](t)(r.fake.Reply("alice", "ops", root, "opsbot count threads"))
	eventually(t, "the answer in the thread", func() bool { return containing(r.fake.Thread("ops", root), "counted threads") })
}

func TestDirectMessageWithoutPrefix(t *testing.T) {
	r := startRig(t, rigOptions{})
	must[string](t)(r.fake.DM("alice", "ping"))
	dm := r.fake.DMChannel("alice")
	eventually(t, "pong in the DM", func() bool { return containing(r.fake.Seen(dm), "pong") })
	// A channel message without the bot's name is chatter, not a command.
	must[string](t)(r.fake.Say("alice", "ops", "ping"))
	ts := must[string](t)(r.fake.Say("alice", "ops", "opsbot count after"))
	eventually(t, "the addressed command's answer", func() bool { return containing(r.fake.Thread("ops", ts), "counted after") })
	if containing(r.fake.Seen("ops"), "pong") {
		t.Errorf("the bot answered chatter: %q", r.fake.Seen("ops"))
	}
}

func TestSlashCommandRuns(t *testing.T) {
	r := startRig(t, rigOptions{})
	start := time.Now()
	ack := must[[]byte](t)(func() ([]byte, error) {
		b, err := r.fake.Slash("alice", "ops", "/opsbot", "count slashes")
		return b, err
	}())
	if d := time.Since(start); d > slacktest.AckTimeout {
		t.Errorf("acknowledged after %s, over Slack's 3 s", d)
	}
	if !strings.Contains(string(ack), `"in_channel"`) {
		t.Errorf("ack %s, want the in_channel response that shows the command", ack)
	}
	eventually(t, "the slash command's result in the channel", func() bool { return containing(r.fake.Seen("ops"), "counted slashes") })
	// A per-command slash command.
	must[[]byte](t)(func() ([]byte, error) { b, err := r.fake.Slash("bob", "dev", "/health", ""); return b, err }())
	eventually(t, "pong for /health", func() bool { return containing(r.fake.Seen("dev"), "pong") })
}

// confirmation waits for the bot's message with Confirm and Cancel buttons
// in channel and returns it.
func confirmation(t *testing.T, r *rig, channel string) slacktest.Message {
	t.Helper()
	var found slacktest.Message
	eventually(t, "a confirmation with buttons", func() bool {
		for _, m := range r.fake.Messages(channel) {
			if slices.Contains(slacktest.Buttons(m), "Confirm") {
				found = m
				return true
			}
		}
		return false
	})
	if !slices.Equal(slacktest.Buttons(found), []string{"Confirm", "Cancel"}) {
		t.Errorf("buttons %q, want Confirm and Cancel", slacktest.Buttons(found))
	}
	return found
}

func TestAButtonClickConfirmsAndAnotherUsersClickIsRefused(t *testing.T) {
	r := startRig(t, rigOptions{})
	ts := must[string](t)(r.fake.Say("alice", "ops", mention+" restart api"))
	m := confirmation(t, r, "ops")
	if m.ThreadTS != ts {
		t.Errorf("the confirmation is in thread %q, want the command's %q", m.ThreadTS, ts)
	}
	if slacktest.Colour(m) == "" {
		t.Errorf("the confirmation has no severity colour")
	}
	confirm := slacktest.ButtonID(m, "Confirm")

	// bob clicks alice's Confirm: only bob is told, privately; nothing runs.
	if err := r.fake.Click("bob", "ops", m.TS, confirm); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's private 'not yours'", func() bool { return containing(r.fake.Ephemerals("bob"), "Not yours") })
	if len(r.mod.ran()) != 0 {
		t.Fatalf("bob's click ran %q", r.mod.ran())
	}
	if containing(r.fake.Thread("ops", ts), "Not yours") || containing(r.fake.Thread("ops", ts), "no open confirmation") {
		t.Errorf("the refusal was posted for everyone: %q", r.fake.Thread("ops", ts))
	}

	// alice clicks: the command runs, the confirmation shows who confirmed
	// and loses its buttons, the result follows in the thread.
	if err := r.fake.Click("alice", "ops", m.TS, confirm); err != nil {
		t.Fatal(err)
	}
	eventually(t, "restarted api in the thread", func() bool { return containing(r.fake.Thread("ops", ts), "restarted api") })
	if got := r.mod.ran(); !slices.Equal(got, []string{"restart api by alice"}) {
		t.Errorf("runs %q", got)
	}
	eventually(t, "the confirmation updated in place", func() bool {
		for _, x := range r.fake.Messages("ops") {
			if x.TS == m.TS {
				return x.Edited && strings.Contains(r.fake.Text(x), "Confirmed") && len(slacktest.Buttons(x)) == 0
			}
		}
		return false
	})
}

func TestCancelButton(t *testing.T) {
	r := startRig(t, rigOptions{})
	must[string](t)(r.fake.Say("alice", "ops", mention+" restart db"))
	m := confirmation(t, r, "ops")
	if err := r.fake.Click("alice", "ops", m.TS, slacktest.ButtonID(m, "Cancel")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the confirmation says cancelled", func() bool {
		for _, x := range r.fake.Messages("ops") {
			if x.TS == m.TS {
				return strings.Contains(r.fake.Text(x), "Cancelled") && len(slacktest.Buttons(x)) == 0
			}
		}
		return false
	})
	if len(r.mod.ran()) != 0 {
		t.Errorf("cancelled, yet ran %q", r.mod.ran())
	}
}

func TestMissingArgumentBecomesButtons(t *testing.T) {
	r := startRig(t, rigOptions{})
	must[string](t)(r.fake.Say("alice", "ops", mention+" deploy api"))
	var q slacktest.Message
	eventually(t, "a question with one button per environment", func() bool {
		for _, m := range r.fake.Messages("ops") {
			if slices.Equal(slacktest.Buttons(m), []string{"staging", "production"}) {
				q = m
				return true
			}
		}
		return false
	})
	if err := r.fake.Click("alice", "ops", q.TS, slacktest.ButtonID(q, "production")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deploy run with the chosen environment", func() bool { return slices.Contains(r.mod.ran(), "deploy api production") })
}

func TestEditsAreNotRunAgain(t *testing.T) {
	r := startRig(t, rigOptions{})
	ts := must[string](t)(r.fake.Say("alice", "ops", "opsbot count one"))
	eventually(t, "the first answer", func() bool { return containing(r.fake.Thread("ops", ts), "counted one") })
	if err := r.fake.Edit("alice", "ops", ts, "opsbot count two"); err != nil {
		t.Fatal(err)
	}
	ts3 := must[string](t)(r.fake.Say("alice", "ops", "opsbot count three"))
	eventually(t, "the later answer", func() bool { return containing(r.fake.Thread("ops", ts3), "counted three") })
	if got := r.mod.ran(); !slices.Equal(got, []string{"count one", "count three"}) {
		t.Errorf("runs %q: the edit was run", got)
	}
}

func TestARedeliveredEventRunsOnce(t *testing.T) {
	for _, mode := range []string{slack.ModeSocket, slack.ModeEvents} {
		t.Run(mode, func(t *testing.T) {
			r := startRig(t, rigOptions{mode: mode})
			ts := must[string](t)(r.fake.Say("alice", "ops", "opsbot count once"))
			eventually(t, "the answer", func() bool { return containing(r.fake.Thread("ops", ts), "counted once") })
			if err := r.fake.Redeliver(); err != nil {
				t.Fatal(err)
			}
			ts2 := must[string](t)(r.fake.Say("alice", "ops", "opsbot count later"))
			eventually(t, "the later answer", func() bool { return containing(r.fake.Thread("ops", ts2), "counted later") })
			if got := r.mod.ran(); !slices.Equal(got, []string{"count once", "count later"}) {
				t.Errorf("runs %q: the redelivery ran again", got)
			}
		})
	}
}

func TestEventsModeEndToEnd(t *testing.T) {
	r := startRig(t, rigOptions{mode: slack.ModeEvents})
	ts := must[string](t)(r.fake.Say("alice", "ops", mention+" restart cache"))
	m := confirmation(t, r, "ops")
	if err := r.fake.Click("alice", "ops", m.TS, slacktest.ButtonID(m, "Confirm")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "restarted cache", func() bool { return containing(r.fake.Thread("ops", ts), "restarted cache") })
	ack := must[[]byte](t)(func() ([]byte, error) { b, err := r.fake.Slash("alice", "ops", "/opsbot", "ping"); return b, err }())
	if !strings.Contains(string(ack), "in_channel") {
		t.Errorf("slash ack %s", ack)
	}
	eventually(t, "pong", func() bool { return containing(r.fake.Seen("ops"), "pong") })
	for _, secret := range []string{slacktest.BotToken, slacktest.SigningSecret} {
		if strings.Contains(r.logs.String(), secret) {
			t.Errorf("a secret reached the log")
		}
	}
}

// A slash command in a channel the bot is not in is answered through the
// command's response URL.
func TestSlashCommandWhereTheBotIsNotAMember(t *testing.T) {
	r := startRig(t, rigOptions{})
	r.fake.SetBotMember(r.fake.ChannelID("random"), false)
	if _, err := r.fake.Slash("alice", "random", "/opsbot", "count outsiders"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the answer in #random", func() bool { return containing(r.fake.Seen("random"), "counted outsiders") })
}
