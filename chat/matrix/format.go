package matrix

import (
	"html"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// htmlFormat is the format of formatted_body.
const htmlFormat = "org.matrix.custom.html"

// htmlRenderer renders the Markdown subset of chat posts as the HTML subset
// Matrix clients show (spec: m.room.message msgtypes, HTML tags).
type htmlRenderer struct{}

func (htmlRenderer) Text(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}
func (htmlRenderer) Bold(inner string) string   { return "<strong>" + inner + "</strong>" }
func (htmlRenderer) Italic(inner string) string { return "<em>" + inner + "</em>" }
func (htmlRenderer) Code(s string) string       { return "<code>" + html.EscapeString(s) + "</code>" }

func (htmlRenderer) Block(lang, s string) string {
	class := ""
	if lang != "" {
		class = ` class="language-` + html.EscapeString(lang) + `"`
	}
	return "<pre><code" + class + ">" + html.EscapeString(s) + "</code></pre>"
}

func (htmlRenderer) Link(label, url string) string {
	return `<a href="` + html.EscapeString(url) + `">` + label + "</a>"
}

func (htmlRenderer) ListItem(inner string) string { return "• " + inner }

// Severity labels and colours.
var severities = map[chat.Severity]struct{ label, colour string }{
	chat.SeverityCritical: {"CRITICAL", "#d0021b"},
	chat.SeverityWarning:  {"WARNING", "#f5a623"},
	chat.SeveritySuccess:  {"OK", "#2eb67d"},
	chat.SeverityInfo:     {"INFO", "#3b82f6"},
}

// formatted is a post as a plain body and an HTML formatted body.
type formatted struct {
	body, html string
	mentions   []string
}

// format renders a post: the severity as a coloured label (and "[CRITICAL]"
// or "[WARNING]" in the plain body), then the text, the fields and the
// links; mentions as pills that notify (m.mentions), nothing else does.
func (a *Adapter) format(p chat.Post) formatted {
	var body, h []string
	var lead, hlead string
	for _, id := range p.Mentions {
		if !validID(id, '@') {
			continue
		}
		lead += id + " "
		hlead += `<a href="https://matrix.to/#/` + html.EscapeString(id) + `">` + html.EscapeString(id) + "</a> "
	}
	if s, ok := severities[p.Severity]; ok {
		if p.Severity == chat.SeverityCritical || p.Severity == chat.SeverityWarning {
			lead += "[" + s.label + "] "
		}
		hlead += `<strong><font color="` + s.colour + `" data-mx-color="` + s.colour + `">` + s.label + "</font></strong> "
	}
	body = append(body, lead+chat.Plain(p.Text))
	h = append(h, hlead+chat.Render(p.Text, htmlRenderer{}))
	for _, f := range p.Fields {
		body = append(body, f.Name+": "+f.Value)
		h = append(h, "<strong>"+html.EscapeString(f.Name)+"</strong>: "+htmlRenderer{}.Text(f.Value))
	}
	links := p.Links
	if p.Image != nil && p.Image.URL != "" {
		links = append(links, chat.Link{Title: p.Image.Alt, URL: p.Image.URL})
	}
	for _, l := range links {
		if l.Title == "" || l.Title == l.URL {
			body = append(body, l.URL)
		} else {
			body = append(body, l.Title+": "+l.URL)
		}
		h = append(h, htmlRenderer{}.Link(html.EscapeString(cmpOr(l.Title, l.URL)), l.URL))
	}
	var mentions []string
	for _, id := range p.Mentions {
		if validID(id, '@') {
			mentions = append(mentions, id)
		}
	}
	return formatted{
		body:     strings.TrimSpace(strings.Join(body, "\n")),
		html:     strings.TrimSpace(strings.Join(h, "<br>")),
		mentions: mentions,
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// emojiNames maps the emoji names modules use (Slack's short names) to the
// Unicode a Matrix reaction's key holds.
var emojiNames = map[string]string{
	"white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️", "eyes": "👀",
	"rocket": "🚀", "hourglass": "⌛", "hourglass_flowing_sand": "⏳", "+1": "👍", "thumbsup": "👍",
	"-1": "👎", "thumbsdown": "👎", "tada": "🎉", "fire": "🔥", "rotating_light": "🚨", "stop_sign": "🛑",
	"construction": "🚧", "bell": "🔔", "no_bell": "🔕", "repeat": "🔁", "arrows_counterclockwise": "🔄",
	"question": "❓", "exclamation": "❗", "ok": "🆗", "pager": "📟", "lock": "🔒", "unlock": "🔓",
}

// reactionKey is the key of a reaction: a known short name as its emoji,
// anything else as given (a Matrix reaction may be any text).
func reactionKey(name string) string {
	if u, ok := emojiNames[strings.Trim(name, ":")]; ok {
		return u
	}
	return name
}
