package irc_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lrstanley/girc"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/irc"
	"github.com/opsbot/opsbot/chat/irc/internal/testcert"
	"github.com/opsbot/opsbot/chat/irc/ngircdtest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// bot is an adapter running for one test.
type bot struct {
	*irc.Adapter
	in <-chan chat.Message
}

// startBot runs an adapter until the test ends.
func startBot(t *testing.T, cfg irc.Config, log *lockedBuffer) bot {
	t.Helper()
	return startBotOn(t, cfg, log, nil)
}

// startBotOn runs an adapter on clk (the real clock if nil).
func startBotOn(t *testing.T, cfg irc.Config, log *lockedBuffer, clk clock.Clock) bot {
	t.Helper()
	logger := testLogger(t)
	if log != nil {
		logger = captureLogger(t, log)
	}
	a, err := irc.New(cfg, logger)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if clk != nil {
		a.SetClock(clk)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan chat.Message, 64)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, in) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return")
		}
	})
	return bot{a, in}
}

// receive waits for a message the bot receives.
func (b bot) receive(t *testing.T, text string) chat.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-b.in:
			if m.Text == text {
				return m
			}
		case <-deadline:
			t.Fatalf("the bot did not receive %q", text)
		}
	}
}

// waitJoin waits until the watcher sees the bot join ch.
func waitJoin(t *testing.T, w *ngircdtest.Client, nick, ch string) {
	t.Helper()
	w.Until(t, nick+" in "+ch, func(lines []ngircdtest.Line) bool { return members(lines, ch)[girc.ToRFC1459(nick)] })
}

// botLines are the texts of the PRIVMSGs from nick to target the client received.
func botLines(c *ngircdtest.Client, nick, target string) []ngircdtest.Line {
	var out []ngircdtest.Line
	for _, l := range c.Lines() {
		if l.Command == "PRIVMSG" && l.Nick() == nick && len(l.Params) > 1 && strings.EqualFold(l.Params[0], target) {
			out = append(out, l)
		}
	}
	return out
}

func TestTLSWithAConfiguredCA(t *testing.T) {
	ca := testcert.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.Server(t).WriteFiles(t, dir, "server")
	caFile := ca.WriteCA(t, dir)
	srv := ngircdtest.Start(t, ngircdtest.Options{TLSCert: certFile, TLSKey: keyFile})
	w := ngircdtest.DialTLS(t, srv.TLSAddr(), "watcher", &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	w.Join(t, "#ops", "")

	t.Run("trusting the configured CA", func(t *testing.T) {
		cfg := fastConfig(srv.TLSAddr(), "tlsbot")
		cfg.TLS = irc.TLSConfig{Enabled: true, CAFile: caFile, ServerName: "localhost"}
		cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
		b := startBot(t, cfg, nil)
		waitJoin(t, w, "tlsbot", "#ops")
		if _, err := b.Post(context.Background(), chat.Room{Adapter: "irc", ID: "#ops"}, chat.Post{Text: "over TLS"}); err != nil {
			t.Fatal(err)
		}
		w.WaitFor(t, "the post", func(l ngircdtest.Line) bool { return l.Command == "PRIVMSG" && l.Last() == "over TLS" })
	})
	t.Run("refusing an unknown CA", func(t *testing.T) {
		var log lockedBuffer
		cfg := fastConfig(srv.TLSAddr(), "badtls")
		cfg.TLS = irc.TLSConfig{Enabled: true, ServerName: "localhost"}
		cfg.PostTimeout = 300 * time.Millisecond
		b := startBot(t, cfg, &log)
		_, err := b.Post(context.Background(), chat.Room{Adapter: "irc", ID: "badtls"}, chat.Post{Text: "x"})
		if !errors.Is(err, irc.ErrNotConnected) {
			t.Errorf("posting without a verified connection: %v", err)
		}
		if !strings.Contains(log.String(), "certificate signed by unknown authority") {
			t.Errorf("the log does not say why:\n%s", log.String())
		}
	})
	t.Run("skipping verification when told to", func(t *testing.T) {
		cfg := fastConfig(srv.TLSAddr(), "skipbot")
		cfg.TLS = irc.TLSConfig{Enabled: true, InsecureSkipVerify: true}
		cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
		startBot(t, cfg, nil)
		waitJoin(t, w, "skipbot", "#ops")
	})
}

func TestChannelKeys(t *testing.T) {
	srv := ngircdtest.Start(t, ngircdtest.Options{})
	w := ngircdtest.Dial(t, srv.Addr(), "watcher")
	w.Join(t, ngircdtest.KeyedChannel, ngircdtest.KeyedChannelKey)
	room := chat.Room{Adapter: "irc", ID: ngircdtest.KeyedChannel}

	var log lockedBuffer
	cfg := fastConfig(srv.Addr(), "keybot")
	cfg.Channels = []irc.ChannelConfig{{Name: ngircdtest.KeyedChannel, Key: config.Secret(ngircdtest.KeyedChannelKey)}}
	b := startBot(t, cfg, &log)
	waitJoin(t, w, "keybot", ngircdtest.KeyedChannel)
	if _, err := b.Post(context.Background(), room, chat.Post{Text: "in the keyed channel"}); err != nil {
		t.Fatal(err)
	}
	w.WaitFor(t, "the post", func(l ngircdtest.Line) bool { return l.Last() == "in the keyed channel" })

	cfg = fastConfig(srv.Addr(), "nokeybot")
	cfg.Channels = []irc.ChannelConfig{{Name: ngircdtest.KeyedChannel, Key: "wrong-key"}}
	b = startBot(t, cfg, &log)
	_, err := b.Post(context.Background(), room, chat.Post{Text: "never"})
	if err == nil || !strings.Contains(err.Error(), "cannot join") {
		t.Errorf("posting to a channel the key does not open: %v", err)
	}
	if !strings.Contains(log.String(), "cannot join") {
		t.Errorf("the refusal is not logged")
	}
	for _, key := range []string{ngircdtest.KeyedChannelKey, "wrong-key"} {
		if strings.Contains(log.String(), key) {
			t.Errorf("a channel key reached the log")
		}
	}
}

func TestNickCollisionAndReclaim(t *testing.T) {
	srv := ngircdtest.Start(t, ngircdtest.Options{})
	squatter := ngircdtest.Dial(t, srv.Addr(), "opsbot")
	w := ngircdtest.Dial(t, srv.Addr(), "watcher")
	w.Join(t, "#ops", "")

	cfg := fastConfig(srv.Addr(), "opsbot")
	cfg.AltNicks = []string{"opsbot_"}
	cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
	b := startBot(t, cfg, nil)
	waitJoin(t, w, "opsbot_", "#ops")

	squatter.Close()
	// The bot reclaims its nick at its next rejoin tick (100ms here).
	w.WaitFor(t, "the bot reclaiming its nick", func(l ngircdtest.Line) bool {
		return l.Command == "NICK" && l.Nick() == "opsbot_" && l.Last() == "opsbot"
	})
	if _, err := b.Post(context.Background(), chat.Room{Adapter: "irc", ID: "#ops"}, chat.Post{Text: "mine again"}); err != nil {
		t.Fatal(err)
	}
	w.WaitFor(t, "a post under the reclaimed nick", func(l ngircdtest.Line) bool {
		return l.Command == "PRIVMSG" && l.Nick() == "opsbot" && l.Last() == "mine again"
	})
}

// Killing ngircd mid-conversation: posts made while it is down wait for the
// reconnect and the rejoin, then arrive in order. The bot's clock is fake,
// so that it reconnects only once the watcher is back in the channel to see
// the posts.
func TestServerRestart(t *testing.T) {
	srv := ngircdtest.Start(t, ngircdtest.Options{})
	w := ngircdtest.Dial(t, srv.Addr(), "watcher")
	w.Join(t, "#ops", "")
	cfg := fastConfig(srv.Addr(), "opsbot")
	cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
	cfg.ReconnectMin, cfg.ReconnectMax = time.Second, time.Second
	fake := clock.NewFake(time.Now())
	b := startBotOn(t, cfg, nil, fake)
	waitJoin(t, w, "opsbot", "#ops")
	room := chat.Room{Adapter: "irc", ID: "#ops"}
	sender := chat.NewSender(b)
	if _, err := sender.Post(context.Background(), room, chat.Post{Text: "before the crash"}); err != nil {
		t.Fatal(err)
	}
	w.WaitFor(t, "the first post", func(l ngircdtest.Line) bool { return l.Last() == "before the crash" })

	srv.Stop(t)
	w.WaitClosed(t)
	poll(t, "the bot noticing the server is gone", func() bool { return !b.Connected() })
	posted := make(chan error, 1)
	go func() {
		for i := range 3 {
			if _, err := sender.Post(context.Background(), room, chat.Post{Text: fmt.Sprintf("while down %d", i)}); err != nil {
				posted <- err
				return
			}
		}
		posted <- nil
	}()
	srv.Restart(t)
	w = ngircdtest.Dial(t, srv.Addr(), "watcher")
	w.Join(t, "#ops", "")
	select {
	case err := <-posted:
		t.Fatalf("the posts finished before the bot reconnected: %v", err)
	default:
	}
	// The reconnect backoff runs on the fake clock: move it on until the bot is back.
	poll(t, "the bot reconnecting", func() bool {
		fake.Advance(time.Second)
		return b.Connected()
	})
	if err := <-posted; err != nil {
		t.Fatalf("posting across the restart: %v", err)
	}
	w.Until(t, "three posts", func([]ngircdtest.Line) bool { return len(botLines(w, b.Nick(), "#ops")) >= 3 })
	var got []string
	for _, l := range botLines(w, b.Nick(), "#ops") {
		got = append(got, l.Last())
	}
	if strings.Join(got, "|") != "while down 0|while down 1|while down 2" {
		t.Errorf("after the restart the watcher saw %q", got)
	}
}

// poll checks cond every few milliseconds until it holds, for up to 10s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// 200 lines posted at once go out at the configured pace, all of them, in order.
func TestFloodControl(t *testing.T) {
	srv := ngircdtest.Start(t, ngircdtest.Options{})
	w := ngircdtest.Dial(t, srv.Addr(), "watcher")
	w.Join(t, "#ops", "")
	cfg := fastConfig(srv.Addr(), "opsbot")
	cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
	cfg.Flood = irc.FloodConfig{Rate: 200, Burst: 10}
	b := startBot(t, cfg, nil)
	waitJoin(t, w, "opsbot", "#ops")

	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf("progress %03d: step done", i))
	}
	start := time.Now()
	if _, err := b.Post(context.Background(), chat.Room{Adapter: "irc", ID: "#ops"}, chat.Post{Text: strings.Join(lines, "\n")}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	// The Post returns once the server confirmed every line, so all 200 are
	// relayed by now (the watcher may still be reading them).
	w.Until(t, "200 lines", func([]ngircdtest.Line) bool { return len(botLines(w, "opsbot", "#ops")) >= 200 })
	var got []string
	for _, l := range botLines(w, "opsbot", "#ops") {
		got = append(got, l.Last())
	}
	if strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Fatalf("the watcher saw %d lines, not the 200 in order", len(got))
	}
	if minimum := 190 * time.Second / 200; elapsed < minimum {
		t.Errorf("200 lines at 200/s after a burst of 10 went out in %s, faster than %s", elapsed, minimum)
	}
	t.Logf("200 lines in %s", elapsed)
}

func TestDirectMessagesAndIdentities(t *testing.T) {
	srv := ngircdtest.Start(t, ngircdtest.Options{})
	cfg := fastConfig(srv.Addr(), "opsbot")
	cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
	cfg.TrustedMasks = map[string]string{"alice!~alice@127.0.0.1": "alice"}
	b := startBot(t, cfg, nil)
	alice := ngircdtest.Dial(t, srv.Addr(), "alice")
	alice.Join(t, "#ops", "")
	waitJoin(t, alice, "opsbot", "#ops")
	mallory := ngircdtest.Dial(t, srv.Addr(), "mallory")
	mallory.Join(t, "#ops", "")

	alice.Say(t, "#ops", "opsbot: deploy api")
	m := b.receive(t, "opsbot: deploy api")
	if m.Direct || m.Room.ID != "#ops" || m.From != (chat.Identity{Adapter: "irc", ID: "alice", Name: "alice"}) || m.ID == "" {
		t.Errorf("alice's channel message: %+v", m)
	}

	mallory.Say(t, "opsbot", "whoami")
	m = b.receive(t, "whoami")
	if !m.Direct || m.Room.ID != "mallory" || m.From.ID != "nick:mallory" {
		t.Errorf("mallory's private message: %+v", m)
	}
	if _, err := b.Post(context.Background(), m.Room, chat.Post{Text: "you are a guest"}); err != nil {
		t.Fatal(err)
	}
	got := mallory.WaitFor(t, "the private reply", func(l ngircdtest.Line) bool { return l.Command == "PRIVMSG" && l.Nick() == "opsbot" })
	if got.Params[0] != "mallory" || got.Last() != "you are a guest" {
		t.Errorf("mallory got %q", got.Raw)
	}

	// Taking alice's nick does not make mallory alice: her user@host differs.
	mallory.Send(t, "NICK alicex")
	alice.Close()
	mallory.WaitFor(t, "alice gone", func(l ngircdtest.Line) bool { return l.Command == "QUIT" && l.Nick() == "alice" })
	mallory.Send(t, "NICK alice")
	mallory.WaitFor(t, "the nick alice", func(l ngircdtest.Line) bool { return l.Command == "NICK" && l.Last() == "alice" })
	mallory.Say(t, "#ops", "opsbot: deploy api to production")
	m = b.receive(t, "opsbot: deploy api to production")
	if m.From.ID != "nick:alice" {
		t.Errorf("mallory under alice's nick is %+v, want the guest nick:alice", m.From)
	}

	// Posting to an unknown nick fails for good.
	_, err := b.Post(context.Background(), chat.Room{Adapter: "irc", ID: "nobodyhere"}, chat.Post{Text: "hello?"})
	if !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("posting to a missing nick: %v", err)
	}
}

// Posts cannot inject IRC commands, and every line fits the 512-byte limit
// as relayed (prefix included), cut between runes.
func TestLinesAreSafeAndFitTheLimit(t *testing.T) {
	srv := ngircdtest.Start(t, ngircdtest.Options{})
	w := ngircdtest.Dial(t, srv.Addr(), "watcher")
	w.Join(t, "#ops", "")
	w.Join(t, "#evil", "")
	cfg := fastConfig(srv.Addr(), "opsbot")
	cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
	b := startBot(t, cfg, nil)
	waitJoin(t, w, "opsbot", "#ops")
	room := chat.Room{Adapter: "irc", ID: "#ops"}
	sender := chat.NewSender(b)

	if _, err := sender.Post(context.Background(), room, chat.Post{Text: "ok\r\nJOIN #evil\rPART #ops\x00 :x"}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("日本語のテキスト", 60) // 1,440 bytes, no spaces
	if _, err := sender.Post(context.Background(), room, chat.Post{Text: long}); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Post(context.Background(), room, chat.Post{Text: "*disk* full on `db-1`", Severity: chat.SeverityCritical}); err != nil {
		t.Fatal(err)
	}
	w.WaitFor(t, "the last post", func(l ngircdtest.Line) bool { return strings.Contains(l.Last(), "db-1") })

	var texts []string
	for _, l := range botLines(w, "opsbot", "#ops") {
		if len(l.Raw)+len("\r\n") > 512 {
			t.Errorf("a line of %d bytes: %q", len(l.Raw)+2, l.Raw)
		}
		if !utf8.ValidString(l.Raw) {
			t.Errorf("invalid UTF-8: %q", l.Raw)
		}
		texts = append(texts, l.Last())
	}
	if len(texts) < 5 {
		t.Fatalf("lines seen: %q", texts)
	}
	// A newline starts another PRIVMSG; CR and NUL are dropped.
	if texts[0] != "ok" || texts[1] != "JOIN #evilPART #ops :x" {
		t.Errorf("the control characters were not neutralised: %q", texts[:2])
	}
	if joined := strings.Join(texts[2:len(texts)-1], ""); joined != long {
		t.Errorf("the long post did not arrive whole: %d bytes of %d", len(joined), len(long))
	}
	for _, l := range botLines(w, "opsbot", "#ops")[2 : len(texts)-2] {
		if n := len(l.Raw) + 2; n < 512-utf8.UTFMax {
			t.Errorf("a cut line of %d bytes: lines are cut short of the limit", n)
		}
	}
	if got, want := texts[len(texts)-1], "\x0304[CRITICAL] \x02disk\x02 full on \x11db-1\x11"; got != want {
		t.Errorf("the critical post is %q, want %q", got, want)
	}
	if members(w.Lines(), "#evil")["opsbot"] || !members(w.Lines(), "#ops")["opsbot"] {
		t.Errorf("a post made the bot join or part a channel")
	}
}

// A post longer than the flood limit lets through before the caller's
// deadline (the outbox's delivery timeout) is cut, saying so, instead of
// failing after its beginning went out.
func TestLongPostCutToTheDeadline(t *testing.T) {
	srv := ngircdtest.Start(t, ngircdtest.Options{})
	w := ngircdtest.Dial(t, srv.Addr(), "watcher")
	w.Join(t, "#ops", "")
	cfg := fastConfig(srv.Addr(), "opsbot")
	cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
	cfg.Flood = irc.FloodConfig{Rate: 20, Burst: 5}
	b := startBot(t, cfg, nil)
	waitJoin(t, w, "opsbot", "#ops")

	var lines []string
	for i := range 100 {
		lines = append(lines, fmt.Sprintf("output line %03d", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := b.Post(ctx, chat.Room{Adapter: "irc", ID: "#ops"}, chat.Post{Text: strings.Join(lines, "\n")}); err != nil {
		t.Fatalf("the post failed instead of being cut: %v", err)
	}
	w.WaitFor(t, "the cut notice", func(l ngircdtest.Line) bool { return strings.Contains(l.Last(), "more lines cut") })
	got := botLines(w, "opsbot", "#ops")
	// 5 at once and 20/s for 0.8s: 21 lines, the last one the notice.
	if len(got) < 2 || len(got) > 21 {
		t.Fatalf("%d lines went out", len(got))
	}
	for i, l := range got[:len(got)-1] {
		if l.Last() != lines[i] {
			t.Fatalf("line %d is %q, want %q", i, l.Last(), lines[i])
		}
	}
	if want := fmt.Sprintf("… %d more lines cut", 100-(len(got)-1)); !strings.HasPrefix(got[len(got)-1].Last(), want) {
		t.Errorf("the notice is %q, want it to start with %q", got[len(got)-1].Last(), want)
	}
}

func TestServerPassword(t *testing.T) {
	const password = "letmein-7f3a"
	srv := ngircdtest.Start(t, ngircdtest.Options{Password: password})
	var log lockedBuffer
	cfg := fastConfig(srv.Addr(), "opsbot")
	cfg.ServerPassword = password
	cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
	b := startBot(t, cfg, &log)
	poll(t, "the bot registered", b.Connected)

	cfg = fastConfig(srv.Addr(), "wrongpw")
	cfg.ServerPassword = "not-it-9c1e"
	cfg.PostTimeout = 300 * time.Millisecond
	wrong := startBot(t, cfg, &log)
	if _, err := wrong.Post(context.Background(), chat.Room{Adapter: "irc", ID: "#ops"}, chat.Post{Text: "x"}); !errors.Is(err, irc.ErrNotConnected) {
		t.Errorf("with the wrong password: %v", err)
	}
	for _, secret := range []string{password, "not-it-9c1e"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the server password reached the log")
		}
	}
}
