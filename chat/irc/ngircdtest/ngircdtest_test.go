package ngircdtest_test

import (
	"strings"
	"testing"

	"github.com/opsbot/opsbot/chat/irc/ngircdtest"
)

func TestServerRelaysKillsAndRestarts(t *testing.T) {
	s := ngircdtest.Start(t, ngircdtest.Options{})
	alice := ngircdtest.Dial(t, s.Addr(), "alice")
	bob := ngircdtest.Dial(t, s.Addr(), "bob")
	alice.Join(t, "#ops", "")
	bob.Join(t, "#ops", "")
	alice.Say(t, "#ops", "hello there")
	got := bob.WaitFor(t, "alice's message", func(l ngircdtest.Line) bool { return l.Command == "PRIVMSG" })
	if got.Nick() != "alice" || got.Params[0] != "#ops" || got.Last() != "hello there" {
		t.Errorf("bob saw %q", got.Raw)
	}

	bob.Send(t, "JOIN %s wrongkey", ngircdtest.KeyedChannel)
	bob.WaitFor(t, "a bad key refusal", func(l ngircdtest.Line) bool { return l.Command == "475" })
	bob.Join(t, ngircdtest.KeyedChannel, ngircdtest.KeyedChannelKey)

	alice.Oper(t)
	alice.Kill(t, "bob")
	bob.WaitClosed(t)

	s.Stop(t)
	alice.WaitClosed(t)
	s.Restart(t)
	carol := ngircdtest.Dial(t, s.Addr(), "carol")
	carol.Join(t, ngircdtest.KeyedChannel, ngircdtest.KeyedChannelKey)
}

func TestParse(t *testing.T) {
	l := ngircdtest.Parse("@account=alice;msgid=a\\sb :alice!~a@h PRIVMSG #ops :hi there\r\n")
	if l.Tags["account"] != "alice" || l.Tags["msgid"] != "a b" || l.Nick() != "alice" || l.Command != "PRIVMSG" ||
		strings.Join(l.Params, "|") != "#ops|hi there" {
		t.Errorf("parsed %+v", l)
	}
}
