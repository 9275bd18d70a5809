package irc

import (
	"strings"
	"unicode/utf8"
)

// maxLine is the IRC line limit, CR LF included (RFC 1459 and 2812).
const maxLine = 512

// minBudget keeps a line's text budget workable even for absurd prefixes.
const minBudget = 32

// textBudget is how many bytes of text fit in one PRIVMSG to target, once
// the server has put the sender's prefix in front of it, as every receiver
// gets it: ":nick!user@host PRIVMSG target :text\r\n" in 512 bytes.
func textBudget(nick, user, host, target string) int {
	prefix := len(":") + len(nick) + len("!") + len(user) + len("@") + len(host) + len(" PRIVMSG ") + len(target) + len(" :")
	return max(maxLine-len("\r\n")-prefix, minBudget)
}

// splitLine cuts one line of text (no newline) into parts of at most budget
// bytes: after the last space that fits when there is one in the second half
// of the part, else between two runes, never inside a UTF-8 rune or a colour
// code. IRC formatting ends with each line, so a part after the first starts
// with the codes that restore the formatting in effect where it was cut.
// Every part shows at least one rune (even one longer than budget, which only
// an absurdly small budget allows); codes left at the end are dropped.
func splitLine(line string, budget int) []string {
	if len(line) <= budget {
		return []string{line}
	}
	var parts []string
	var state fmtState
	for i := 0; i < len(line) && !onlyCodes(line[i:]); {
		prefix := state.prefix()
		var b strings.Builder
		b.Grow(budget)
		b.WriteString(prefix)
		st := state
		cutAt, cutLen, cutState := -1, 0, fmtState{}
		visible := false
		for i < len(line) {
			n := atomLen(line[i:])
			a := line[i : i+n]
			if b.Len()+n > budget && visible {
				break
			}
			b.WriteString(a)
			st.apply(a)
			visible = visible || !isCode(a)
			if a == " " {
				cutAt, cutLen, cutState = i+1, b.Len(), st
			}
			i += n
		}
		part := b.String()
		if i < len(line) && cutAt > 0 && cutLen-len(prefix) >= (budget-len(prefix))/2 {
			part, i, st = part[:cutLen], cutAt, cutState
		}
		parts = append(parts, part)
		state = st
	}
	return parts
}

// atoms cuts a line into the pieces a cut may fall between: runes, and
// formatting codes whole (a colour code with its numbers).
func atoms(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		n := atomLen(s[i:])
		out = append(out, s[i:i+n])
		i += n
	}
	return out
}

func atomLen(s string) int {
	if s[0] != codeColor[0] {
		_, n := utf8.DecodeRuneInString(s)
		return n
	}
	n := 1 + digits(s[1:])
	if n > 1 && n+1 < len(s) && s[n] == ',' {
		if d := digits(s[n+1:]); d > 0 {
			n += 1 + d
		}
	}
	return n
}

// digits counts the one or two digits of a colour number at the start of s.
func digits(s string) int {
	n := 0
	for n < len(s) && n < 2 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// onlyCodes reports whether s shows nothing: formatting that would end with
// the line anyway.
func onlyCodes(s string) bool {
	for i := 0; i < len(s); {
		n := atomLen(s[i:])
		if !isCode(s[i : i+n]) {
			return false
		}
		i += n
	}
	return true
}

func isCode(atom string) bool {
	switch atom {
	case codeBold, codeReset, codeMono, codeReverse, codeItalic, codeStrike, codeUnderline:
		return true
	}
	return strings.HasPrefix(atom, codeColor)
}

// fmtState is the formatting in effect at a point of a line.
type fmtState struct {
	bold, italic, underline, strike, mono, reverse bool
	color                                          string // "04" or "04,01"; "" for none
}

func (s *fmtState) apply(atom string) {
	switch atom {
	case codeBold:
		s.bold = !s.bold
	case codeItalic:
		s.italic = !s.italic
	case codeUnderline:
		s.underline = !s.underline
	case codeStrike:
		s.strike = !s.strike
	case codeMono:
		s.mono = !s.mono
	case codeReverse:
		s.reverse = !s.reverse
	case codeReset:
		*s = fmtState{}
	default:
		if strings.HasPrefix(atom, codeColor) {
			s.color = atom[1:]
		}
	}
}

// prefix is the codes that put a fresh line in this state. A colour code is
// followed by another code, so the text after it cannot extend its numbers.
func (s fmtState) prefix() string {
	var b strings.Builder
	if s.color != "" {
		b.WriteString(codeColor + s.color)
	}
	for _, f := range []struct {
		on   bool
		code string
	}{{s.bold, codeBold}, {s.italic, codeItalic}, {s.underline, codeUnderline}, {s.strike, codeStrike}, {s.mono, codeMono}, {s.reverse, codeReverse}} {
		if f.on {
			b.WriteString(f.code)
		}
	}
	if s.color != "" && b.Len() == 1+len(s.color) {
		b.WriteString(codeBold + codeBold)
	}
	return b.String()
}
