package slack_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/slack"
	"github.com/opsbot/opsbot/chat/slack/slacktest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// running starts a with Run and returns what it delivers.
func running(t testing.TB, a *slack.Adapter) chan chat.Message {
	in := make(chan chat.Message, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, in) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return in
}

func newAdapter(t *testing.T, fake *slacktest.Server, edit func(*slack.Config)) *slack.Adapter {
	cfg := fastConfig(fake)
	if edit != nil {
		edit(&cfg)
	}
	a, err := slack.New(cfg, slack.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestReconnectBacksOffOnTheClock(t *testing.T) {
	fake := slacktest.Start(t)
	fc := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	cfg := fastConfig(fake)
	cfg.ReconnectMin, cfg.ReconnectMax = time.Second, 2*time.Second
	a, err := slack.New(cfg, slack.Options{Logger: testLogger(t), Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	fake.FailConnects(3)
	running(t, a)
	eventually(t, "the first attempt", func() bool { return fake.Opens() == 1 })
	// Waits of 1s, 2s, then 2s (the maximum) between failed attempts.
	for i, d := range []time.Duration{time.Second, 2 * time.Second, 2 * time.Second} {
		fc.Advance(d - time.Millisecond)
		if n := fake.Opens(); n != i+1 {
			t.Fatalf("attempt %d came early", n)
		}
		fc.Advance(time.Millisecond)
		eventually(t, fmt.Sprintf("attempt %d after %s", i+2, d), func() bool { return fake.Opens() == i+2 })
	}
	eventually(t, "connected", a.Connected)
	// Slack's "disconnect" asks for a new connection at once: no wait.
	fake.Disconnect()
	eventually(t, "a new connection without waiting", func() bool { return fake.Opens() == 5 && a.Connected() })
	// A dropped connection is retried after reconnect_min, once
	// apps.connections.open (Tier 1: about one call a minute, five in a
	// burst, all used by now) allows it.
	fake.Drop()
	eventually(t, "noticing the drop", func() bool { return !a.Connected() })
	fc.Advance(time.Second)
	fc.Advance(time.Minute)
	eventually(t, "reconnected after the drop", func() bool { return fake.Opens() == 6 && a.Connected() })
}

func TestRefusedTokensEndRun(t *testing.T) {
	fake := slacktest.Start(t)
	cfg := fastConfig(fake)
	cfg.BotToken = "xoxb-not-the-token"
	a, err := slack.New(cfg, slack.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(context.Background(), make(chan chat.Message))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Run with a bad bot token: %v", err)
	}
	cfg = fastConfig(fake)
	cfg.AppToken = "xapp-not-the-token"
	a, _ = slack.New(cfg, slack.Options{Logger: testLogger(t)})
	err = a.Run(context.Background(), make(chan chat.Message))
	if err == nil || !strings.Contains(err.Error(), "app token was refused") {
		t.Errorf("Run with a bad app token: %v", err)
	}
}

func TestRendering(t *testing.T) {
	fake := slacktest.Start(t)
	a := newAdapter(t, fake, nil)
	running(t, a)
	eventually(t, "connected", a.Connected)
	ctx := context.Background()
	ops := chat.Room{Adapter: "slack", ID: "#ops"}
	ref, err := a.Post(ctx, ops, chat.Post{
		Text:     "*Deploy* of `api` <done> & [logs](https://ci.example/1?a=1&b=2)\n- first\n- second",
		Severity: chat.SeverityCritical,
		Fields:   []chat.Field{{Name: "env", Value: "production", Short: true}, {Name: "ref", Value: "v1.2.3"}},
		Links:    []chat.Link{{Title: "runbook", URL: "https://wiki.example/runbook"}},
		Image:    &chat.Image{URL: "https://graphs.example/cpu.png", Alt: "cpu"},
		Buttons:  []chat.Button{{ID: "rollback", Label: "Roll back", Value: "rollback api", Style: "danger"}, {Label: "Ignore", Value: "ignore"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Room.ID != fake.ChannelID("ops") || ref.Room.Name != "#ops" || ref.ID == "" {
		t.Errorf("ref %+v", ref)
	}
	msgs := fake.Messages("ops")
	m := msgs[len(msgs)-1]
	if slacktest.Colour(m) != "#E01E5A" {
		t.Errorf("colour %q, want the critical red", slacktest.Colour(m))
	}
	blocks := m.Attachments[0].Blocks.BlockSet
	raw := fmt.Sprintf("%s", mustJSON(t, blocks))
	for _, want := range []string{"*Deploy*", "`api`", "&lt;done&gt; &amp;", "<https://ci.example/1?a=1&b=2|logs>", "• first", "*env*\\nproduction", "<https://wiki.example/runbook|runbook>", "cpu.png", `"style":"danger"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("the blocks lack %q: %s", want, raw)
		}
	}
	if !strings.HasPrefix(m.Text, "[CRITICAL] ") {
		t.Errorf("notification text %q", m.Text)
	}
	seen := fake.Text(m)
	for _, want := range []string{"Deploy", "<done> &", "env", "production", "runbook", "[image: cpu]", "[Roll back] [Ignore]"} {
		if !strings.Contains(seen, want) {
			t.Errorf("a person sees %q, without %q", seen, want)
		}
	}

	// Update edits in place; a thread reply names its root.
	if err := a.Update(ctx, ref, chat.Post{Text: "rolled back", Severity: chat.SeveritySuccess}); err != nil {
		t.Fatal(err)
	}
	msgs = fake.Messages("ops")
	if got := fake.Text(msgs[len(msgs)-1]); got != "rolled back" || !msgs[len(msgs)-1].Edited || slacktest.Colour(msgs[len(msgs)-1]) != "#2EB67D" {
		t.Errorf("after the update: %q %v %q", got, msgs[len(msgs)-1].Edited, slacktest.Colour(msgs[len(msgs)-1]))
	}
	if err := a.Update(ctx, ref, chat.Post{Text: "plain again"}); err != nil {
		t.Fatal(err)
	}
	msgs = fake.Messages("ops")
	if got := fake.Text(msgs[len(msgs)-1]); got != "plain again" || slacktest.Colour(msgs[len(msgs)-1]) != "" {
		t.Errorf("after an update without severity: %q, colour %q", got, slacktest.Colour(msgs[len(msgs)-1]))
	}
	reply, err := a.PostInThread(ctx, ref, chat.Post{Text: "step 2"})
	if err != nil || reply.Thread != ref.ID {
		t.Fatalf("thread reply %+v %v", reply, err)
	}
	if got := fake.Thread("ops", ref.ID); len(got) != 1 || got[0] != "step 2" {
		t.Errorf("thread %q", got)
	}
	if err := a.React(ctx, ref, ":white_check_mark:"); err != nil {
		t.Fatal(err)
	}
	if err := a.React(ctx, ref, "white_check_mark"); err != nil {
		t.Errorf("reacting twice: %v", err)
	}
	if got := fake.Reactions(); len(got) != 1 || got[0].Name != "white_check_mark" || got[0].TS != ref.ID {
		t.Errorf("reactions %+v", got)
	}
	up, err := a.Upload(ctx, ops, "report.csv", []byte("a,b\n1,2\n"))
	if err != nil || !strings.HasPrefix(up.ID, "F") {
		t.Fatalf("upload %+v %v", up, err)
	}
	if got := fake.Seen("ops"); got[len(got)-1] != "a,b\n1,2\n" {
		t.Errorf("the upload shows %q", got[len(got)-1])
	}
}

func TestLongTextBecomesAFile(t *testing.T) {
	fake := slacktest.Start(t)
	a := newAdapter(t, fake, nil)
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, "line %03d of the build log\n", i)
	}
	long := "```\n" + b.String() + "```"
	ref, err := a.Post(context.Background(), chat.Room{Adapter: "slack", ID: "#ops"}, chat.Post{Text: long})
	if err != nil {
		t.Fatal(err)
	}
	seen := fake.Seen("ops")
	if len(seen) != 2 {
		t.Fatalf("seen %d posts, want a preview and a file", len(seen))
	}
	if len(seen[0]) > 2000 || !strings.Contains(seen[0], "line 000") || !strings.Contains(seen[0], "in the file below") {
		t.Errorf("the preview (%d bytes): %q", len(seen[0]), seen[0])
	}
	if !strings.Contains(seen[1], "line 299 of the build log") || strings.Contains(seen[1], "```") {
		t.Errorf("the file lacks the text, or has the fences")
	}
	if ref.ID != fake.Messages("ops")[0].TS {
		t.Errorf("the ref names %s, not the preview", ref.ID)
	}

	// upload_over -1: split into messages instead, none over Slack's limits.
	fake2 := slacktest.Start(t)
	a2 := newAdapter(t, fake2, func(c *slack.Config) { c.UploadOver = -1 })
	if _, err := a2.Post(context.Background(), chat.Room{Adapter: "slack", ID: "#ops"}, chat.Post{Text: strings.Repeat(long, 4)}); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(fake2.Seen("ops"), "\n")
	if len(fake2.Seen("ops")) < 2 || strings.Count(all, "line 299 of the build log") != 4 {
		t.Errorf("split into %d messages; the text %s", len(fake2.Seen("ops")), "is incomplete")
	}
}

func TestMentionsAndChannelsResolve(t *testing.T) {
	fake := slacktest.Start(t)
	a := newAdapter(t, fake, nil)
	in := running(t, a)
	eventually(t, "connected", a.Connected)
	bob, dev := fake.UserID("bob"), fake.ChannelID("dev")
	if _, err := fake.Say("alice", "ops", "<@"+slacktest.BotUserID+">: page <@"+bob+"> in <#"+dev+"> and <#"+dev+"|dev> about <https://x.example/a|this> &amp; &lt;that&gt; <!here>"); err != nil {
		t.Fatal(err)
	}
	m := <-in
	want := "opsbot page @bob in #dev and #dev about https://x.example/a & <that> @here"
	if m.Text != want {
		t.Errorf("text %q\nwant %q", m.Text, want)
	}
	if m.From.Name != "alice" || m.Room.Name != "#ops" {
		t.Errorf("from %+v in %+v", m.From, m.Room)
	}
	// In a reply, @bob and #dev become a mention and a channel link again.
	if _, err := a.Post(context.Background(), m.Room, chat.Post{Text: "paged @bob in #dev; mail bob@example.com", Mentions: []string{fake.UserID("alice")}}); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages("ops")
	raw := string(mustJSON(t, msgs[len(msgs)-1].Blocks))
	for _, w := range []string{"<@" + fake.UserID("alice") + ">", "<@" + bob + ">", "<#" + dev + ">", "bob@example.com"} {
		if !strings.Contains(raw, w) {
			t.Errorf("the reply lacks %q: %s", w, raw)
		}
	}
}

func TestConfigIsChecked(t *testing.T) {
	good := slack.Config{BotToken: "xoxb-1", AppToken: "xapp-1"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*slack.Config)
		key  string
	}{
		{"no bot token", func(c *slack.Config) { c.BotToken = "" }, "bot_token"},
		{"a user token", func(c *slack.Config) { c.BotToken = "xoxp-1" }, "bot_token"},
		{"socket mode without app token", func(c *slack.Config) { c.AppToken = "" }, "app_token"},
		{"events without signing secret", func(c *slack.Config) { c.Mode = "events" }, "signing_secret"},
		{"an unknown mode", func(c *slack.Config) { c.Mode = "rtm" }, "mode"},
		{"a channel twice", func(c *slack.Config) { c.Channels = []string{"#ops", "ops"} }, "channels[1]"},
		{"a bad slash command", func(c *slack.Config) { c.SlashCommands = map[string]string{"status": "status"} }, "slash_commands"},
		{"a slash command for nothing", func(c *slack.Config) { c.SlashCommands = map[string]string{"/status": ""} }, "slash_commands"},
		{"a negative backoff", func(c *slack.Config) { c.ReconnectMin = -time.Second }, "reconnect_min"},
		{"max below min", func(c *slack.Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }, "reconnect_max"},
		{"a bad api_url", func(c *slack.Config) { c.APIURL = "ftp://x" }, "api_url"},
		{"upload_over below -1", func(c *slack.Config) { c.UploadOver = -2 }, "upload_over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %v, want one naming %s", err, tc.key)
			}
		})
	}
	c := good
	c.BotToken = config.Secret("xoxb-very-secret-token")
	c.Mode = "rtm"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "very-secret") {
		t.Errorf("the error shows the token: %v", err)
	}
}

func TestOnlyTheConfiguredChannelsAreRead(t *testing.T) {
	fake := slacktest.Start(t)
	a := newAdapter(t, fake, func(c *slack.Config) { c.Channels = []string{"#ops", fake.ChannelID("random")} })
	in := running(t, a)
	for _, say := range []struct{ channel, text string }{{"dev", "not read"}, {"ops", "read by name"}, {"random", "read by ID"}} {
		if _, err := fake.Say("alice", say.channel, say.text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fake.DM("bob", "a DM is always read"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		select {
		case m := <-in:
			got = append(got, m.Text)
		case <-time.After(5 * time.Second):
			t.Fatalf("only %q arrived", got)
		}
	}
	if want := []string{"read by name", "read by ID", "a DM is always read"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("arrived %q, want %q", got, want)
	}
}

func TestPostToAUserLandsInTheirDM(t *testing.T) {
	fake := slacktest.Start(t)
	a := newAdapter(t, fake, nil)
	ctx := context.Background()
	ref, err := a.Post(ctx, chat.Room{Adapter: "slack", ID: fake.UserID("carol")}, chat.Post{Text: "your deploy finished"})
	if err != nil {
		t.Fatal(err)
	}
	dm := fake.DMChannel("carol")
	if ref.Room.ID != dm {
		t.Errorf("ref room %s, want the DM %s", ref.Room.ID, dm)
	}
	if err := a.Update(ctx, ref, chat.Post{Text: "your deploy finished (3m12s)"}); err != nil {
		t.Fatal(err)
	}
	if got := fake.Seen(dm); len(got) != 1 || got[0] != "your deploy finished (3m12s)" {
		t.Errorf("the DM shows %q", got)
	}
}
