package irc_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/irc"
	"github.com/opsbot/opsbot/chat/irc/internal/testcert"
	"github.com/opsbot/opsbot/chat/irc/ircv3test"
)

// ngircd has no SASL and no account tags: these run against ircv3test.

const botPassword = "correct-horse-battery"

func v3Config(srv *ircv3test.Server, nick string) irc.Config {
	cfg := fastConfig(srv.Addr(), nick)
	cfg.Channels = []irc.ChannelConfig{{Name: "#ops"}}
	return cfg
}

// assertNoSecret fails if secret, or its SASL PLAIN encoding, is in the log.
func assertNoSecret(t *testing.T, log, secret string) {
	t.Helper()
	if strings.Contains(log, secret) {
		t.Errorf("the secret %q reached the log", secret)
	}
	if enc := base64.StdEncoding.EncodeToString([]byte("opsbot\x00opsbot\x00" + secret)); strings.Contains(log, enc) {
		t.Errorf("the SASL PLAIN payload reached the log")
	}
}

func TestSASLPlainAndAccountIdentities(t *testing.T) {
	srv := ircv3test.Start(t, ircv3test.Options{Passwords: map[string]string{"opsbot": botPassword}})
	var log lockedBuffer
	cfg := v3Config(srv, "opsbot")
	cfg.SASL = irc.SASLConfig{Mechanism: "plain", User: "opsbot", Password: botPassword}
	cfg.TrustedMasks = map[string]string{"carol!~carol@desk.example": "carol", "*!~bob@*.corp.example": "mask:bob"}
	b := startBot(t, cfg, &log)
	srv.WaitJoined(t, "opsbot", "#ops")
	r := srv.WaitFor(t, "the SASL exchange", func(r ircv3test.Received) bool { return r.Command == "AUTHENTICATE" && r.Line != "AUTHENTICATE PLAIN" })
	if r.Account != "" {
		t.Fatalf("authenticated before the payload: %+v", r)
	}
	srv.WaitFor(t, "a JOIN as the logged-in account", func(r ircv3test.Received) bool { return r.Command == "JOIN" && r.Account == "opsbot" })

	tests := []struct {
		name string
		user ircv3test.User
		want string
	}{
		{"services account (account-tag)", ircv3test.User{Nick: "alice", Ident: "~alice", Host: "anywhere.example", Account: "alice"}, "alice"},
		{"account wins over a mask", ircv3test.User{Nick: "carol", Ident: "~carol", Host: "desk.example", Account: "carol-acct"}, "carol-acct"},
		{"exact mask", ircv3test.User{Nick: "carol", Ident: "~carol", Host: "desk.example"}, "carol"},
		{"wildcard mask", ircv3test.User{Nick: "bobby", Ident: "~bob", Host: "laptop.corp.example"}, "mask:bob"},
		{"bare nick: a guest", ircv3test.User{Nick: "alice", Ident: "~alice", Host: "anywhere.example"}, "nick:alice"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Say(tt.user, "#ops", "whoami "+tt.name)
			m := b.receive(t, "whoami "+tt.name)
			if m.From.ID != tt.want || m.From.Name != tt.user.Nick || m.From.Adapter != "irc" {
				t.Errorf("from %+v, want ID %q", m.From, tt.want)
			}
			if !strings.HasPrefix(m.ID, "msgid:") || seen[m.ID] {
				t.Errorf("message ID %q: want the server's msgid, unique", m.ID)
			}
			seen[m.ID] = true
			if m.Direct || m.Room.ID != "#ops" {
				t.Errorf("room %+v, direct %v", m.Room, m.Direct)
			}
		})
	}

	srv.Say(ircv3test.User{Nick: "alice", Ident: "~alice", Host: "h", Account: "alice"}, "opsbot", "status")
	if m := b.receive(t, "status"); !m.Direct || m.Room.ID != "alice" || m.From.ID != "alice" {
		t.Errorf("a private message: %+v", m)
	}
	if _, err := b.Post(context.Background(), chat.Room{Adapter: "irc", ID: "#ops"}, chat.Post{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, "the post", func(r ircv3test.Received) bool { return r.Line == "PRIVMSG #ops hello" })
	assertNoSecret(t, log.String(), botPassword)
}

func TestSASLPlainRefused(t *testing.T) {
	srv := ircv3test.Start(t, ircv3test.Options{Passwords: map[string]string{"opsbot": "the-real-one"}})
	var log lockedBuffer
	cfg := v3Config(srv, "opsbot")
	cfg.SASL = irc.SASLConfig{Mechanism: "plain", User: "opsbot", Password: botPassword}
	cfg.PostTimeout = 300 * time.Millisecond
	b := startBot(t, cfg, &log)
	srv.WaitFor(t, "a second attempt", func(r ircv3test.Received) bool {
		n := 0
		for _, x := range srv.Received() {
			if x.Line == "AUTHENTICATE PLAIN" {
				n++
			}
		}
		return n >= 2
	})
	if _, err := b.Post(context.Background(), chat.Room{Adapter: "irc", ID: "#ops"}, chat.Post{Text: "x"}); !errors.Is(err, irc.ErrNotConnected) {
		t.Errorf("posting while SASL fails: %v", err)
	}
	for _, r := range srv.Received() {
		if r.Command == "JOIN" || r.Command == "PRIVMSG" {
			t.Errorf("the bot went on after SASL failed: %q", r.Line)
		}
	}
	if !strings.Contains(log.String(), "SASL authentication failed") {
		t.Errorf("the failure is not logged:\n%s", log.String())
	}
	assertNoSecret(t, log.String(), botPassword)
}

// A server that offers no SASL does not get an unauthenticated bot.
func TestSASLRequiredFailsClosed(t *testing.T) {
	srv := ircv3test.Start(t, ircv3test.Options{Caps: []string{"account-tag", "message-tags"}})
	var log lockedBuffer
	cfg := v3Config(srv, "opsbot")
	cfg.SASL = irc.SASLConfig{Mechanism: "plain", User: "opsbot", Password: botPassword}
	startBot(t, cfg, &log)
	srv.WaitFor(t, "a second attempt", func(ircv3test.Received) bool {
		n := 0
		for _, x := range srv.Received() {
			if x.Command == "NICK" {
				n++
			}
		}
		return n >= 2
	})
	for _, r := range srv.Received() {
		if r.Command == "JOIN" || r.Command == "AUTHENTICATE" {
			t.Errorf("the bot went on without SASL: %q", r.Line)
		}
	}
	if !strings.Contains(log.String(), "did not authenticate") {
		t.Errorf("the refusal is not logged:\n%s", log.String())
	}
}

func TestSASLExternal(t *testing.T) {
	ca := testcert.NewCA(t)
	dir := t.TempDir()
	client := ca.Client(t, "opsbot")
	certFile, keyFile := client.WriteFiles(t, dir, "bot")
	srv := ircv3test.Start(t, ircv3test.Options{
		TLS:          &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS(t)}},
		Fingerprints: map[string]string{client.Fingerprint: "opsbot-cert"},
	})
	cfg := v3Config(srv, "opsbot")
	cfg.TLS = irc.TLSConfig{Enabled: true, CAFile: ca.WriteCA(t, dir), CertFile: certFile, KeyFile: keyFile}
	cfg.SASL = irc.SASLConfig{Mechanism: "external"}
	startBot(t, cfg, nil)
	srv.WaitFor(t, "a JOIN as the certificate's account", func(r ircv3test.Received) bool {
		return r.Command == "JOIN" && r.Account == "opsbot-cert"
	})
}

// Without account-tag, the account comes from extended-join and follows
// account-notify.
func TestAccountFromExtendedJoinAndAccountNotify(t *testing.T) {
	srv := ircv3test.Start(t, ircv3test.Options{Caps: []string{"extended-join", "account-notify"}})
	b := startBot(t, v3Config(srv, "opsbot"), nil)
	srv.WaitJoined(t, "opsbot", "#ops")
	dave := ircv3test.User{Nick: "dave", Ident: "~dave", Host: "h.example", Account: "dave"}
	srv.Join(dave, "#ops")
	srv.Say(dave, "#ops", "first")
	m := b.receive(t, "first")
	if m.From.ID != "dave" {
		t.Errorf("after an extended JOIN: %+v", m.From)
	}
	if m.ID == "" || strings.HasPrefix(m.ID, "msgid:") {
		t.Errorf("message ID %q: want one of the adapter's own without message-tags", m.ID)
	}
	srv.Account(dave, "#ops", "")
	srv.Say(dave, "#ops", "second")
	if m := b.receive(t, "second"); m.From.ID != "nick:dave" {
		t.Errorf("after logging out: %+v", m.From)
	}
}

func TestNickServIdentify(t *testing.T) {
	srv := ircv3test.Start(t, ircv3test.Options{Caps: []string{}, TakenNicks: []string{"opsbot"}})
	var log lockedBuffer
	cfg := v3Config(srv, "opsbot")
	cfg.NickServ = irc.NickServConfig{Account: "opsbot", Password: botPassword}
	startBot(t, cfg, &log)
	srv.WaitFor(t, "IDENTIFY", func(r ircv3test.Received) bool {
		return r.Line == "PRIVMSG NickServ :IDENTIFY opsbot "+botPassword
	})
	srv.WaitJoined(t, "opsbot1", "#ops") // the nick was taken: the first numbered one
	assertNoSecret(t, log.String(), botPassword)
}
