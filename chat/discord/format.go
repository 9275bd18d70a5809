package discord

import (
	"bytes"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/opsbot/opsbot/chat"
)

// Embed limits (Resources/Message, Embed Limits).
const (
	maxDescription = 4096
	maxFields      = 25
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxLabel       = 80
	maxButtons     = 25
)

// Severity colours of the embed's side bar.
var severityColour = map[chat.Severity]int{
	chat.SeverityCritical: 0xD0021B,
	chat.SeverityWarning:  0xF5A623,
	chat.SeveritySuccess:  0x2EB67D,
	chat.SeverityInfo:     0x3B82F6,
}

// renderer renders the Markdown subset of chat posts in Discord's Markdown,
// escaping what people and systems wrote so that it shows as written.
type renderer struct{}

var escaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`, `~`, `\~`, "`", "\\`", `|`, `\|`, `<`, `\<`, `[`, `\[`, `]`, `\]`)

func (renderer) Text(s string) string {
	s = escaper.Replace(s)
	// Line starts that Discord reads as headings, quotes or lists.
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		t := strings.TrimLeft(l, " ")
		if strings.HasPrefix(t, "#") || strings.HasPrefix(t, ">") || strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "-# ") {
			lines[i] = l[:len(l)-len(t)] + `\` + t
		}
	}
	return strings.Join(lines, "\n")
}

func (renderer) Bold(inner string) string   { return "**" + inner + "**" }
func (renderer) Italic(inner string) string { return "*" + inner + "*" }

func (renderer) Code(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func (renderer) Block(lang, s string) string {
	return "```" + lang + "\n" + strings.ReplaceAll(s, "```", "`\u200b``") + "\n```"
}

func (renderer) Link(label, url string) string {
	if label == "" || label == url {
		return "<" + url + ">"
	}
	return "[" + strings.ReplaceAll(label, "]", `\]`) + "](" + url + ")"
}

func (renderer) ListItem(inner string) string { return "- " + inner }

// render is a post's Markdown as Discord Markdown.
func render(text string) string { return chat.Render(text, renderer{}) }

// clip cuts s to at most n characters, ending with "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// message is a post as Discord message parameters.
type message struct {
	content    string
	embeds     []*discordgo.MessageEmbed
	components []discordgo.MessageComponent
	files      []*discordgo.File
	mentions   *discordgo.MessageAllowedMentions
}

// build turns a post into message parameters. The text goes in the content,
// or in an embed's description when the post has a severity, fields, links
// or an image (the embed's bar shows the severity's colour), or when the
// Markdown escapes made it longer than the content allows. Mentions ping
// only the people the post names: @everyone, @here and roles never do.
func (a *Adapter) build(p chat.Post) message {
	text := render(p.Text)
	var m message
	m.mentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
	var pings []string
	for _, id := range p.Mentions {
		if snowflakeRE.MatchString(id) && len(m.mentions.Users) < 100 {
			pings = append(pings, "<@"+id+">")
			m.mentions.Users = append(m.mentions.Users, id)
		}
	}
	rich := p.Severity != "" || len(p.Fields) > 0 || len(p.Links) > 0 || p.Image != nil
	if !rich && utf8.RuneCountInString(text)+len(strings.Join(pings, " "))+1 <= MaxContentLen {
		m.content = strings.TrimSpace(strings.Join(pings, " ") + " " + text)
	} else {
		m.content = strings.Join(pings, " ")
		m.embeds = []*discordgo.MessageEmbed{a.embed(p, text, &m)}
	}
	m.components = buttons(a, p.Buttons)
	return m
}

// embed is the rich part of a post.
func (a *Adapter) embed(p chat.Post, text string, m *message) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Color: severityColour[p.Severity]}
	var lines []string
	if text != "" {
		lines = append(lines, text)
	}
	for i, f := range p.Fields {
		if i >= maxFields || f.Name == "" || f.Value == "" {
			lines = append(lines, renderer{}.Text(f.Name)+": "+renderer{}.Text(f.Value))
			continue
		}
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
			Name: clip(f.Name, maxFieldName), Value: clip(renderer{}.Text(f.Value), maxFieldValue), Inline: f.Short,
		})
	}
	for _, l := range p.Links {
		lines = append(lines, renderer{}.Link(renderer{}.Text(l.Title), l.URL))
	}
	e.Description = clip(strings.Join(lines, "\n"), maxDescription)
	if img := p.Image; img != nil {
		switch {
		case len(img.Data) > 0:
			ct := http.DetectContentType(img.Data)
			name := "image" + map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}[ct]
			m.files = append(m.files, &discordgo.File{Name: name, ContentType: ct, Reader: bytes.NewReader(img.Data)})
			e.Image = &discordgo.MessageEmbedImage{URL: "attachment://" + name}
		case img.URL != "":
			e.Image = &discordgo.MessageEmbedImage{URL: img.URL}
		}
	}
	return e
}

// buttons lays out up to 25 buttons in rows of five.
func buttons(a *Adapter, bs []chat.Button) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	var row discordgo.ActionsRow
	for i, b := range bs {
		if i == maxButtons {
			a.log.Warn("discord: a post has more than 25 buttons; the rest are left out", "buttons", len(bs))
			break
		}
		row.Components = append(row.Components, discordgo.Button{
			Label: clip(b.Label, maxLabel), Style: buttonStyle(b.Style), CustomID: a.customID(b),
		})
		if len(row.Components) == 5 {
			rows = append(rows, row)
			row = discordgo.ActionsRow{}
		}
	}
	if len(row.Components) > 0 {
		rows = append(rows, row)
	}
	return rows
}

func buttonStyle(s string) discordgo.ButtonStyle {
	switch s {
	case "primary":
		return discordgo.PrimaryButton
	case "danger":
		return discordgo.DangerButton
	case "success":
		return discordgo.SuccessButton
	}
	return discordgo.SecondaryButton
}

// emojiNames maps the emoji names modules use (Slack's short names) to
// Unicode; Discord's API takes the emoji itself.
var emojiNames = map[string]string{
	"white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️", "eyes": "👀",
	"rocket": "🚀", "hourglass": "⌛", "hourglass_flowing_sand": "⏳", "+1": "👍", "thumbsup": "👍",
	"-1": "👎", "thumbsdown": "👎", "tada": "🎉", "fire": "🔥", "rotating_light": "🚨", "stop_sign": "🛑",
	"construction": "🚧", "bell": "🔔", "no_bell": "🔕", "repeat": "🔁", "arrows_counterclockwise": "🔄",
	"question": "❓", "exclamation": "❗", "ok": "🆗", "pager": "📟", "lock": "🔒", "unlock": "🔓",
}

// emoji is the reaction emoji for name: a Unicode emoji as is, a custom
// emoji as "name:id", a known short name (with or without colons) mapped.
func emoji(name string) (string, bool) {
	name = strings.Trim(strings.TrimSpace(name), ":")
	if u, ok := emojiNames[name]; ok {
		return u, true
	}
	if n, id, ok := strings.Cut(name, ":"); ok && n != "" && snowflakeRE.MatchString(id) {
		return name, true
	}
	for _, r := range name {
		if r < 0x80 && r != '#' && r != '*' && (r < '0' || r > '9') {
			return "", false
		}
	}
	return name, name != ""
}
