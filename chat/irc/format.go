package irc

import (
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// mIRC control codes.
const (
	codeBold      = "\x02"
	codeColor     = "\x03"
	codeReset     = "\x0f"
	codeMono      = "\x11"
	codeReverse   = "\x16"
	codeItalic    = "\x1d"
	codeStrike    = "\x1e"
	codeUnderline = "\x1f"
)

// mIRC colour numbers for severities.
const (
	colorGreen  = "03"
	colorRed    = "04"
	colorOrange = "07"
	colorBlue   = "12"
)

// severityColor is the mIRC colour of a severity, or "".
func severityColor(s chat.Severity) string {
	switch s {
	case chat.SeverityCritical:
		return colorRed
	case chat.SeverityWarning:
		return colorOrange
	case chat.SeveritySuccess:
		return colorGreen
	case chat.SeverityInfo:
		return colorBlue
	}
	return ""
}

// colorLine colours a whole line. A colour code followed by a comma and a
// digit would read them as a background colour, so such a line gets an empty
// bold pair in between.
func colorLine(line, color string) string {
	if color == "" || line == "" {
		return line
	}
	guard := ""
	if c := line[0]; c == ',' || c >= '0' && c <= '9' {
		guard = codeBold + codeBold
	}
	return codeColor + color + guard + line
}

// renderer renders the Markdown subset of chat posts as mIRC control codes:
// *bold*, _italic_, `code` and ``` blocks in monospace (\x11, shown by most
// current clients), links as "label <url>", list items with a bullet.
type renderer struct{}

var _ chat.Renderer = renderer{}

func (renderer) Text(s string) string       { return sanitize(s) }
func (renderer) Bold(inner string) string   { return wrap(codeBold, inner) }
func (renderer) Italic(inner string) string { return wrap(codeItalic, inner) }
func (renderer) Code(s string) string       { return wrap(codeMono, sanitize(s)) }

// Block puts each line of a code block in monospace: formatting ends with
// the line on IRC, and each line is its own message.
func (renderer) Block(_, s string) string {
	lines := strings.Split(sanitize(s), "\n")
	for i, l := range lines {
		lines[i] = wrap(codeMono, l)
	}
	return strings.Join(lines, "\n")
}

func (renderer) Link(label, url string) string {
	url = sanitize(url)
	if label == "" || label == url {
		return url
	}
	return label + " <" + url + ">"
}

func (renderer) ListItem(inner string) string { return "• " + inner }

func wrap(code, s string) string {
	if s == "" {
		return ""
	}
	return code + s + code
}

// sanitize removes what must not reach the IRC protocol or would be read as
// formatting: every C0 control character but the newline (CR and NUL would
// end or corrupt a line; \x02, \x03 and the like are formatting), tabs
// becoming spaces. Invalid UTF-8 becomes U+FFFD.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\t':
			b.WriteByte(' ')
		case c < 0x20 && c != '\n' || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// isBlank reports whether a line shows nothing: only spaces and formatting codes.
func isBlank(line string) bool {
	for i := 0; i < len(line); {
		n := atomLen(line[i:])
		if a := line[i : i+n]; !isCode(a) && strings.TrimSpace(a) != "" {
			return false
		}
		i += n
	}
	return true
}
