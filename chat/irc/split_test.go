package irc

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lrstanley/girc"
)

func TestTextBudgetFillsTheLineLimit(t *testing.T) {
	tests := []struct{ nick, user, host, target string }{
		{"opsbot", "~opsbot", "127.0.0.1", "#ops"},
		{"opsbot_", "opsbot", "irc-abc123.example.net", "#a-rather-long-channel-name"},
		{"x", "~x", strings.Repeat("h", 63), "alice"},
	}
	for _, tt := range tests {
		budget := textBudget(tt.nick, tt.user, tt.host, tt.target)
		line := ":" + tt.nick + "!" + tt.user + "@" + tt.host + " PRIVMSG " + tt.target + " :" + strings.Repeat("a", budget) + "\r\n"
		if len(line) != maxLine {
			t.Errorf("%+v: a full line is %d bytes, want %d", tt, len(line), maxLine)
		}
	}
	if got := textBudget(strings.Repeat("n", 600), "u", "h", "#c"); got != minBudget {
		t.Errorf("an absurd prefix leaves %d bytes, want the minimum %d", got, minBudget)
	}
}

func TestSplitLine(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		budget int
		want   []string
	}{
		{"fits", "hello world", 11, []string{"hello world"}},
		{"cut after the last space in the second half", "hello brave new world", 12, []string{"hello brave ", "new world"}},
		{"no space in the second half: cut at the budget", "a verylongword", 10, []string{"a verylong", "word"}},
		{"never inside a rune", "ééééé", 5, []string{"éé", "éé", "é"}},
		{"four-byte runes", "😀😀😀", 7, []string{"😀", "😀", "😀"}},
		{"a rune larger than the budget still goes out whole", "😀x", 2, []string{"😀", "x"}},
		{"bold carried over", "\x02bold words here\x02 plain", 12, []string{"\x02bold words ", "\x02here\x02 plain"}},
		{"colour code kept whole and carried", "ab\x0304,01red text", 14, []string{"ab\x0304,01red ", "\x0304,01\x02\x02text"}},
		{"codes at the end of a line are dropped, not sent alone", "abcd\x02\x1d", 4, []string{"abcd"}},
		{"a part never holds only codes", "\x0304,01\x02abc", 4, []string{"\x0304,01\x02a", "\x0304,01\x02b", "\x0304,01\x02c"}},
		{"reset ends the carry", "\x02ab\x0fcdefgh", 5, []string{"\x02ab\x0fc", "defgh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitLine(tt.line, tt.budget)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("splitLine(%q, %d) = %q, want %q", tt.line, tt.budget, got, tt.want)
			}
		})
	}
}

// Whatever the text and the budget, the parts fit, are valid UTF-8, keep
// every visible rune in order, and show each in the formatting it had.
func TestSplitLineKeepsTextAndFormatting(t *testing.T) {
	lines := []string{
		strings.Repeat("line 0042: héllo wörld, 日本語, the quick brown fox 😀 ", 30),
		strings.Repeat("日本語", 200),
		"\x0304[CRITICAL] " + strings.Repeat("\x02disk\x02 full on \x1dhost-1\x1d, \x11/var/log\x11 at 99% ", 20),
		strings.Repeat("\x03"+"12,01x\x03 y ", 100),
		strings.Repeat("a", 1000),
	}
	for _, line := range lines {
		for _, budget := range []int{32, 33, 64, 100, 401, 469} {
			parts := splitLine(line, budget)
			var got []styledRune
			for _, p := range parts {
				if len(p) > budget {
					t.Fatalf("budget %d: a part of %d bytes: %q", budget, len(p), p)
				}
				if !utf8.ValidString(p) {
					t.Fatalf("budget %d: invalid UTF-8 in %q", budget, p)
				}
				got = append(got, styled(p)...)
			}
			want := styled(line)
			if len(got) != len(want) {
				t.Fatalf("budget %d: %d visible runes, want %d", budget, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("budget %d: rune %d is %+v, want %+v", budget, i, got[i], want[i])
				}
			}
			if girc.StripRaw(strings.Join(parts, "")) != girc.StripRaw(line) {
				t.Fatalf("budget %d: the text changed", budget)
			}
		}
	}
}

type styledRune struct {
	r     string
	state fmtState
}

// styled is the visible runes of a line, each with the formatting it shows in.
func styled(line string) []styledRune {
	var out []styledRune
	var st fmtState
	for _, a := range atoms(line) {
		if isCode(a) {
			st.apply(a)
			continue
		}
		out = append(out, styledRune{a, st})
	}
	return out
}

func TestAtoms(t *testing.T) {
	got := atoms("a\x034,12b\x03,c\x0399d\x03é")
	want := []string{"a", "\x034,12", "b", "\x03", ",", "c", "\x0399", "d", "\x03", "é"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("atoms = %q, want %q", got, want)
	}
}
