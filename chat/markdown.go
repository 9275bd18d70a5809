package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Renderer turns the pieces of the Markdown subset that Post.Text uses into a
// chat's own markup. Render calls it; an adapter implements it (or embeds
// PlainRenderer and overrides a few methods).
type Renderer interface {
	// Text is plain text between markup; it may contain newlines and is the
	// place to escape the chat's special characters.
	Text(s string) string
	// Bold and Italic receive their content already rendered.
	Bold(inner string) string
	Italic(inner string) string
	// Code is inline code, raw.
	Code(s string) string
	// Block is a fenced code block, raw; lang is the word after the opening fence, if any.
	Block(lang, s string) string
	// Link receives its label already rendered and the URL raw.
	Link(label, url string) string
	// ListItem is one "- " line, its content already rendered.
	ListItem(inner string) string
}

// PlainRenderer renders the Markdown subset as plain text: markup is dropped,
// links become "label (url)", list items keep their "- ".
type PlainRenderer struct{}

func (PlainRenderer) Text(s string) string         { return s }
func (PlainRenderer) Bold(inner string) string     { return inner }
func (PlainRenderer) Italic(inner string) string   { return inner }
func (PlainRenderer) Code(s string) string         { return s }
func (PlainRenderer) Block(_, s string) string     { return s }
func (PlainRenderer) ListItem(inner string) string { return "- " + inner }

func (PlainRenderer) Link(label, url string) string {
	if label == "" || label == url {
		return url
	}
	return label + " (" + url + ")"
}

// Plain strips the Markdown subset from text, for chats without formatting.
func Plain(text string) string { return Render(text, PlainRenderer{}) }

const fence = "```"

// Render walks text's Markdown subset and renders it with r:
// *bold*, _italic_, `code`, ```blocks```, [label](url) and "- " list items.
// Inline markup does not span lines; unmatched markers are plain text.
func Render(text string, r Renderer) string {
	var b strings.Builder
	for text != "" {
		open := strings.Index(text, fence)
		if open < 0 {
			break
		}
		closing := strings.Index(text[open+len(fence):], fence)
		if closing < 0 {
			break
		}
		body := text[open+len(fence) : open+len(fence)+closing]
		b.WriteString(renderLines(text[:open], r))
		b.WriteString(r.Block(fenceBody(body)))
		text = text[open+len(fence)+closing+len(fence):]
	}
	b.WriteString(renderLines(text, r))
	return b.String()
}

// fenceBody splits a fenced block's content into its language word and body,
// dropping the newlines that only delimit the fences.
func fenceBody(s string) (lang, body string) {
	first, rest, multiline := strings.Cut(s, "\n")
	if !multiline {
		return "", s
	}
	switch {
	case first == "":
		body = rest
	case isLangWord(first):
		lang, body = first, rest
	default:
		body = s
	}
	return lang, strings.TrimSuffix(body, "\n")
}

func isLangWord(s string) bool {
	if len(s) > 20 {
		return false
	}
	for _, c := range s {
		if !(c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("+-_.#", c))) {
			return false
		}
	}
	return true
}

func renderLines(s string, r Renderer) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, line := range lines {
		if i > 0 {
			b.WriteString(r.Text("\n"))
		}
		if item, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), "- "); ok {
			b.WriteString(r.ListItem(renderInline(item, r)))
			continue
		}
		b.WriteString(renderInline(line, r))
	}
	return b.String()
}

func renderInline(s string, r Renderer) string {
	var out, plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			out.WriteString(r.Text(plain.String()))
			plain.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '`':
			n := 1
			for i+n < len(s) && s[i+n] == '`' {
				n++
			}
			if n == 1 {
				if k := strings.IndexByte(s[i+1:], '`'); k > 0 {
					flush()
					out.WriteString(r.Code(s[i+1 : i+1+k]))
					i += k + 2
					continue
				}
			}
			plain.WriteString(s[i : i+n])
			i += n
			continue
		case '*', '_':
			if end := emphasisEnd(s, i); end > 0 {
				flush()
				inner := renderInline(s[i+1:end], r)
				if c == '*' {
					out.WriteString(r.Bold(inner))
				} else {
					out.WriteString(r.Italic(inner))
				}
				i = end + 1
				continue
			}
		case '[':
			if label, url, end, ok := linkAt(s, i); ok {
				flush()
				out.WriteString(r.Link(renderInline(label, r), url))
				i = end
				continue
			}
		}
		plain.WriteByte(s[i])
		i++
	}
	flush()
	return out.String()
}

// emphasisEnd returns the index of the marker closing the emphasis opened at
// s[i], or -1. An opener follows no letter or digit and precedes no space; a
// closer follows no space and precedes no letter or digit (so snake_case and
// 2*3*4 stay as they are).
func emphasisEnd(s string, i int) int {
	m := s[i]
	if i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == m {
		return -1
	}
	if prev, _ := utf8.DecodeLastRuneInString(s[:i]); i > 0 && (isWordRune(prev) || prev == rune(m)) {
		return -1
	}
	for j := i + 2; j < len(s); j++ {
		if s[j] != m || s[j-1] == ' ' {
			continue
		}
		if next, _ := utf8.DecodeRuneInString(s[j+1:]); j+1 < len(s) && isWordRune(next) {
			continue
		}
		return j
	}
	return -1
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// linkAt parses "[label](url)" at s[i].
func linkAt(s string, i int) (label, url string, end int, ok bool) {
	closeLabel := strings.IndexByte(s[i+1:], ']')
	if closeLabel <= 0 {
		return "", "", 0, false
	}
	label = s[i+1 : i+1+closeLabel]
	rest := s[i+1+closeLabel+1:]
	if !strings.HasPrefix(rest, "(") {
		return "", "", 0, false
	}
	closeURL := strings.IndexByte(rest, ')')
	if closeURL <= 1 {
		return "", "", 0, false
	}
	url = rest[1:closeURL]
	if strings.ContainsAny(url, " \t") || strings.Contains(label, "[") {
		return "", "", 0, false
	}
	return label, url, i + 1 + closeLabel + 1 + closeURL + 1, true
}

// Split cuts text into parts of at most max bytes, for chats that limit a
// post's length. It cuts at line boundaries (the newline between two parts is
// dropped); a line longer than max is cut after its last space that fits, else
// at a rune boundary, never inside a UTF-8 rune. Parts that would hold only
// blank lines are dropped. When max is at least 64, a part that ends inside a
// ``` block is closed with a fence and the next part reopens it (with its
// language word). max <= 0 means no limit; a max below utf8.UTFMax counts as
// utf8.UTFMax, so that any rune fits.
func Split(text string, max int) []string {
	if max <= 0 || len(text) <= max {
		return []string{text}
	}
	s := splitter{max: max, repairFences: max >= minFenceRepair}
	if max < utf8.UTFMax {
		s.max = utf8.UTFMax
	}
	for i, line := range strings.Split(text, "\n") {
		s.add(line, i > 0)
	}
	if s.started && !s.fresh {
		s.keep(s.cur.String())
	}
	if len(s.parts) == 0 {
		return []string{""}
	}
	return s.parts
}

// minFenceRepair is the smallest limit at which closing and reopening fences
// still leaves room for content.
const minFenceRepair = 64

const closeFence = "\n" + fence

type splitter struct {
	max          int
	repairFences bool
	parts        []string
	cur          strings.Builder
	started      bool   // cur holds a part in progress
	fresh        bool   // cur holds only a reopened fence
	inFence      bool   // the text so far has an open ``` block
	reopen       string // the fence line that reopens the open block
}

// add appends seg to the current part, on a new line if newLine.
func (s *splitter) add(seg string, newLine bool) {
	for {
		after := s.fenceAfter(seg)
		nl := 0
		if s.started && (newLine || s.fresh) {
			nl = 1
		}
		if s.cur.Len()+nl+len(seg)+s.reserve(after) <= s.max {
			s.write(seg, nl, after)
			return
		}
		if s.started && !s.fresh {
			s.flush()
			continue
		}
		// seg does not fit even in an empty part: cut it.
		avail := s.max - s.cur.Len() - nl - s.reserve(s.inFence || strings.Contains(seg, fence))
		head, tail := cutLine(seg, avail)
		s.write(head, nl, s.fenceAfter(head))
		s.flush()
		seg, newLine = tail, false
	}
}

func (s *splitter) fenceAfter(seg string) bool {
	return s.inFence != (strings.Count(seg, fence)%2 == 1)
}

func (s *splitter) reserve(inFence bool) int {
	if s.repairFences && inFence {
		return len(closeFence)
	}
	return 0
}

func (s *splitter) write(seg string, nl int, after bool) {
	if nl == 1 {
		s.cur.WriteByte('\n')
	}
	s.cur.WriteString(seg)
	if after && !s.inFence {
		s.reopen = reopenLine(seg)
	}
	s.inFence = after
	s.started = true
	s.fresh = false
}

func (s *splitter) flush() {
	part := s.cur.String()
	reopen := s.repairFences && s.inFence
	if reopen {
		part += closeFence
	}
	s.keep(part)
	s.cur.Reset()
	s.started, s.fresh = reopen, reopen
	if reopen {
		s.cur.WriteString(s.reopen)
	}
}

// keep adds a part unless it is only blank lines, which no chat wants as a post.
func (s *splitter) keep(part string) {
	if strings.TrimSpace(part) != "" {
		s.parts = append(s.parts, part)
	}
}

// reopenLine is the fence that reopens a block opened on line: "```go" when the
// line is a fence with a language word, else "```".
func reopenLine(line string) string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), fence)
	if ok && rest != "" && !strings.Contains(rest, fence) && isLangWord(rest) && len(rest) <= 16 {
		return fence + rest
	}
	return fence
}

// cutLine cuts s so that head has at most avail bytes (at least one rune):
// after the last space that fits if there is one in the second half, else at
// a rune boundary.
func cutLine(s string, avail int) (head, tail string) {
	if avail >= len(s) {
		return s, ""
	}
	end := max(avail, 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	if end == 0 {
		_, size := utf8.DecodeRuneInString(s)
		return s[:size], s[size:]
	}
	if sp := strings.LastIndexByte(s[:end], ' '); sp >= end/2 {
		end = sp + 1
	}
	return s[:end], s[end:]
}
