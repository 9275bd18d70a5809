package slack

import (
	"context"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opsbot/opsbot/chat"
)

// Slack sends message text with its special sequences in angle brackets
// (docs: "Formatting text for app surfaces"): <@U024BE7LH> and
// <@U024BE7LH|bob> for users, <#C024BE7LR|general> for channels,
// <!here> and <!subteam^S…|@team> for groups, <https://x|label> for links;
// and with &, < and > escaped as &amp;, &lt; and &gt;.
var specialRE = regexp.MustCompile(`<([^<>\n]+)>`)

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// commandText turns a message's text into what a person typed: mentions
// and channels become @name and #name, links their URL, entities their
// characters. A leading mention of the bot becomes the bot's name, so that
// "@opsbot deploy api" is addressed to the bot whatever its Slack name.
func (a *Adapter) commandText(ctx context.Context, text string) string {
	bot := a.whoami().userID
	trimmed := strings.TrimSpace(text)
	if bot != "" {
		for _, lead := range []string{"<@" + bot + ">", "<@" + bot + "|"} {
			if !strings.HasPrefix(trimmed, lead) {
				continue
			}
			rest := trimmed[len(lead):]
			if lead[len(lead)-1] == '|' {
				end := strings.IndexByte(rest, '>')
				if end < 0 {
					break
				}
				rest = rest[end+1:]
			}
			rest = strings.TrimLeft(rest, ":, \t")
			trimmed = strings.TrimSpace(a.botName + " " + rest)
			break
		}
	}
	out := specialRE.ReplaceAllStringFunc(trimmed, func(tok string) string {
		return a.resolveSpecial(ctx, tok[1:len(tok)-1])
	})
	return unescaper.Replace(out)
}

func (a *Adapter) resolveSpecial(ctx context.Context, inner string) string {
	target, label, hasLabel := strings.Cut(inner, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		id := target[1:]
		if id == a.whoami().userID {
			return "@" + a.botName
		}
		if hasLabel && label != "" {
			a.dir.learnUser(id, label)
			return "@" + label
		}
		return "@" + a.dir.userName(ctx, id)
	case strings.HasPrefix(target, "#"):
		id := target[1:]
		if hasLabel && label != "" {
			a.dir.learnChannel(id, label)
			return "#" + label
		}
		if name := a.dir.channelName(ctx, id); name != "" {
			return "#" + name
		}
		return "#" + id
	case strings.HasPrefix(target, "!subteam^"):
		if hasLabel {
			return label
		}
		return "@" + strings.TrimPrefix(target, "!subteam^")
	case strings.HasPrefix(target, "!"):
		if hasLabel && label != "" {
			return label
		}
		return "@" + strings.TrimPrefix(target, "!")
	case strings.HasPrefix(target, "mailto:"):
		return strings.TrimPrefix(target, "mailto:")
	default:
		return target // a link: the URL is what a command wants
	}
}

// escape escapes the three characters Slack's text fields reserve.
func escape(s string) string { return escaper.Replace(s) }

var (
	escaper    = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	urlEscaper = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C")
)

// mrkdwn renders the chat Markdown subset as Slack mrkdwn, escaping text and
// turning @name and #name of known users and channels into mentions.
type mrkdwn struct{ dir *directory }

var _ chat.Renderer = mrkdwn{}

func (r mrkdwn) Text(s string) string         { return r.mentions(escape(s)) }
func (r mrkdwn) Bold(inner string) string     { return "*" + inner + "*" }
func (r mrkdwn) Italic(inner string) string   { return "_" + inner + "_" }
func (r mrkdwn) Code(s string) string         { return "`" + escape(s) + "`" }
func (r mrkdwn) ListItem(inner string) string { return "• " + inner }

func (r mrkdwn) Block(_, s string) string { return "```\n" + escape(s) + "\n```" }

func (r mrkdwn) Link(label, url string) string {
	url = urlEscaper.Replace(url)
	if label == "" || label == escape(url) {
		return "<" + url + ">"
	}
	return "<" + url + "|" + label + ">"
}

// mentions replaces @name and #name of users and channels the directory
// knows with Slack's mention syntax, so a reply's "@alice" notifies her.
func (r mrkdwn) mentions(s string) string {
	if r.dir == nil || !strings.ContainsAny(s, "@#") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if (c == '@' || c == '#') && (i == 0 || !isWordByte(s[i-1])) {
			j := i + 1
			for j < len(s) && (isWordByte(s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '_') {
				j++
			}
			name := strings.TrimRight(s[i+1:j], ".-")
			if name != "" {
				if c == '@' {
					if id, ok := r.dir.userID(name); ok {
						b.WriteString("<@" + id + ">")
						i += 1 + len(name)
						continue
					}
				} else {
					r.dir.mu.Lock()
					id, ok := r.dir.channelIDs[strings.ToLower(name)]
					r.dir.mu.Unlock()
					if ok {
						b.WriteString("<#" + id + ">")
						i += 1 + len(name)
						continue
					}
				}
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func isWordByte(c byte) bool {
	if c >= utf8.RuneSelf {
		return true
	}
	return unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
}
