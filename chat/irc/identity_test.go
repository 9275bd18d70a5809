package irc

import (
	"errors"
	"testing"
)

func TestMasks(t *testing.T) {
	m, err := newMasks(map[string]string{
		"alice!~alice@host.example":      "alice",
		"*!~bob@*.corp.example":          "bob",
		"*!*@build-??.ci.example":        "ci",
		"carol!carol@10.0.0.*":           "carol",
		"*!~deploy@build-01.ci.example":  "deployer", // more specific than the ci mask
		"Dave[m]!~dave@home.example.net": "dave",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		nick, user, host string
		want             string
	}{
		{"alice", "~alice", "host.example", "alice"},
		{"ALICE", "~Alice", "HOST.example", "alice"},        // IRC compares case-insensitively
		{"alice_", "~alice", "host.example", ""},            // another nick on the same host
		{"alice", "~alice", "evil.example", ""},             // the same nick elsewhere
		{"alice", "alice", "host.example", ""},              // ident answered: another user part
		{"bobby", "~bob", "laptop.corp.example", "bob"},     // any nick, the corporate hosts
		{"bob", "~bob", "corp.example.evil.net", ""},        // * does not cross the suffix
		{"x", "y", "build-07.ci.example", "ci"},             // ? is one character
		{"x", "y", "build-7.ci.example", ""},                //
		{"x", "~deploy", "build-01.ci.example", "deployer"}, // the most specific mask wins
		{"carol", "carol", "10.0.0.42", "carol"},            //
		{"dave{m}", "~dave", "home.example.net", "dave"},    // RFC 1459: [] fold to {}
		{"alice", "", "host.example", ""},                   // no user part, no match
	}
	for _, tt := range tests {
		got, ok := m.lookup(tt.nick, tt.user, tt.host)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("lookup(%s!%s@%s) = %q, %v; want %q", tt.nick, tt.user, tt.host, got, ok, tt.want)
		}
	}
}

func TestParseMaskRefusesWhatTrustsTooMuch(t *testing.T) {
	for _, mask := range []string{"alice", "alice!~alice", "alice@host", "!u@h", "n!@h", "n!u@", "*!*@*", "*!*@*.*", "a!b@?", "a!b@c d", "a!b@h!x"} {
		if _, err := parseMask(mask); !errors.Is(err, errMask) {
			t.Errorf("parseMask(%q) = %v, want an error", mask, err)
		}
	}
	for _, mask := range []string{"a!b@c", "*!*@host.example", "*!~x@*.example"} {
		if _, err := parseMask(mask); err != nil {
			t.Errorf("parseMask(%q): %v", mask, err)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "abc", true}, {"abc", "abd", false}, {"a*", "a", true}, {"a*c", "abbbc", true},
		{"a*c", "abbbd", false}, {"*", "", true}, {"?", "", false}, {"a?c", "abc", true},
		{"*.example", "x.y.example", true}, {"*.example", "example", false}, {"**a", "ba", true},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}
