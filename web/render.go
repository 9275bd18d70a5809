package web

import (
	"html"
	"html/template"
	"net/url"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// htmlRenderer renders the Markdown subset of Post.Text to HTML. Every piece
// of text and every attribute is escaped; links keep only http, https and
// mailto URLs (anything else, javascript: included, is shown as text).
type htmlRenderer struct{}

func (htmlRenderer) Text(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}
func (htmlRenderer) Bold(inner string) string   { return "<strong>" + inner + "</strong>" }
func (htmlRenderer) Italic(inner string) string { return "<em>" + inner + "</em>" }
func (htmlRenderer) Code(s string) string       { return "<code>" + html.EscapeString(s) + "</code>" }
func (htmlRenderer) Block(lang, s string) string {
	return "<pre><code>" + html.EscapeString(s) + "</code></pre>"
}
func (htmlRenderer) ListItem(inner string) string {
	return "<span class=\"li\">• " + inner + "</span>"
}

func (htmlRenderer) Link(label, raw string) string {
	u, ok := safeURL(raw)
	if !ok {
		if label == "" {
			return html.EscapeString(raw)
		}
		return label + " (" + html.EscapeString(raw) + ")"
	}
	if label == "" {
		label = html.EscapeString(raw)
	}
	return `<a href="` + html.EscapeString(u) + `" rel="noopener noreferrer" target="_blank">` + label + `</a>`
}

// safeURL accepts absolute http(s) and mailto URLs.
func safeURL(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", false
		}
	case "mailto":
	default:
		return "", false
	}
	return u.String(), true
}

// markdownHTML renders text's Markdown subset as safe HTML.
func markdownHTML(text string) template.HTML {
	return template.HTML(chat.Render(text, htmlRenderer{})) //nolint:gosec // every piece is escaped by htmlRenderer
}

// visibleText is what a person reads of rendered HTML: the tags dropped and
// the entities decoded (line breaks and block ends become newlines).
func visibleText(h string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(h, '<')
		if i < 0 {
			b.WriteString(h)
			break
		}
		b.WriteString(h[:i])
		j := strings.IndexByte(h[i:], '>')
		if j < 0 {
			break
		}
		tag := h[i+1 : i+j]
		if tag == "br" || strings.HasPrefix(tag, "/div") || strings.HasPrefix(tag, "/p") || strings.HasPrefix(tag, "/li") {
			b.WriteString("\n")
		} else if strings.HasPrefix(tag, "button") || strings.HasPrefix(tag, "/dt") {
			b.WriteString(" ")
		}
		h = h[i+j+1:]
	}
	lines := strings.Split(html.UnescapeString(b.String()), "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
