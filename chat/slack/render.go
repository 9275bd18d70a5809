package slack

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat"
)

// Block Kit limits (docs: "Blocks" reference pages).
const (
	maxSectionText   = 3000 // a section's text
	maxFieldText     = 2000 // one field of a section
	maxFields        = 10   // fields in one section
	maxContextItems  = 10   // elements of a context block
	maxActions       = 25   // elements of an actions block
	maxButtonLabel   = 75   // a button's text
	maxButtonValue   = 2000 // a button's value
	maxActionID      = 255
	maxBlocks        = 50 // blocks in one message
	maxFallback      = 3000
	truncatedMessage = "\n… (cut: too long for one Slack message)"
)

// severityColours are the attachment colours of a post's severity (Slack's
// own "good", "warning" and "danger" for the last three).
var severityColours = map[chat.Severity]string{
	chat.SeverityInfo:     "#439FE0",
	chat.SeveritySuccess:  "#2EB67D",
	chat.SeverityWarning:  "#ECB22E",
	chat.SeverityCritical: "#E01E5A",
}

// rendered is a post as the Web API takes it.
type rendered struct {
	fallback    string // the notification text (top-level "text")
	blocks      []slack.Block
	attachments []slack.Attachment // one, coloured, holding the blocks, when the post has a severity
}

func (r rendered) options() []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(r.fallback, false)}
	if len(r.attachments) > 0 {
		opts = append(opts, slack.MsgOptionAttachments(r.attachments...))
	} else if len(r.blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(r.blocks...))
	}
	return opts
}

// editOptions are the options of a chat.update: blocks and attachments
// are both given, one of them empty, since Slack keeps those of the earlier
// version that an update leaves out.
func (r rendered) editOptions() []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(r.fallback, false)}
	if len(r.attachments) > 0 {
		return append(opts, slack.MsgOptionAttachments(r.attachments...), slack.MsgOptionBlocks())
	}
	return append(opts, slack.MsgOptionBlocks(r.blocks...), slack.MsgOptionAttachments([]slack.Attachment{}...))
}

// render turns p into Block Kit: the text as mrkdwn sections (cut at line
// boundaries to fit a section), the fields, the links as a context line,
// the image, the buttons; inside an attachment coloured by severity. The
// blocks get IDs unique to this rendering (nonce), as Slack asks.
func (a *Adapter) render(p chat.Post, nonce string) rendered {
	text := chat.Render(p.Text, mrkdwn{dir: a.dir})
	if len(p.Mentions) > 0 {
		var m []string
		for _, id := range p.Mentions {
			if looksLikeUserID(id) {
				m = append(m, "<@"+id+">")
			} else if uid, ok := a.dir.userID(strings.TrimPrefix(id, "@")); ok {
				m = append(m, "<@"+uid+">")
			} else {
				m = append(m, "@"+escape(strings.TrimPrefix(id, "@")))
			}
		}
		text = strings.Join(m, " ") + " " + text
	}
	var blocks []slack.Block
	sections := chat.Split(text, maxSectionText)
	if strings.TrimSpace(text) == "" {
		sections = nil
	}
	fieldSections := min((len(p.Fields)+maxFields-1)/maxFields, 10)
	room := maxBlocks - fieldSections - 3 // the links, the image and the buttons come after the text
	if len(sections) > room {
		sections = sections[:room]
		last := sections[room-1]
		if len(last)+len(truncatedMessage) > maxSectionText {
			last = chat.Split(last, maxSectionText-len(truncatedMessage))[0]
		}
		sections[room-1] = last + truncatedMessage
	}
	for i, s := range sections {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, s, false, false), nil, nil,
			slack.SectionBlockOptionBlockID(fmt.Sprintf("t%d-%s", i, nonce))))
	}
	for i := 0; i < len(p.Fields) && i < fieldSections*maxFields; i += maxFields {
		var fields []*slack.TextBlockObject
		for _, f := range p.Fields[i:min(i+maxFields, len(p.Fields))] {
			v := "*" + escape(f.Name) + "*\n" + chat.Render(f.Value, mrkdwn{dir: a.dir})
			fields = append(fields, slack.NewTextBlockObject(slack.MarkdownType, cut(v, maxFieldText), false, false))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("f%d-%s", i, nonce))))
	}
	if len(p.Links) > 0 {
		var elems []slack.MixedElement
		for _, l := range p.Links[:min(len(p.Links), maxContextItems)] {
			elems = append(elems, slack.NewTextBlockObject(slack.MarkdownType, mrkdwn{}.Link(escape(l.Title), l.URL), false, false))
		}
		blocks = append(blocks, slack.NewContextBlock("l-"+nonce, elems...))
	}
	if p.Image != nil && p.Image.URL != "" {
		alt := p.Image.Alt
		if alt == "" {
			alt = "image"
		}
		blocks = append(blocks, slack.NewImageBlock(p.Image.URL, alt, "i-"+nonce, nil))
	}
	if len(p.Buttons) > 0 {
		var elems []slack.BlockElement
		used := map[string]bool{}
		for i, b := range p.Buttons[:min(len(p.Buttons), maxActions)] {
			id := cut(b.ID, maxActionID)
			if id == "" || used[id] {
				id = "b" + strconv.Itoa(i)
			}
			used[id] = true
			label := b.Label
			if strings.TrimSpace(label) == "" {
				label = b.Value
			}
			btn := slack.NewButtonBlockElement(id, cut(b.Value, maxButtonValue),
				slack.NewTextBlockObject(slack.PlainTextType, cut(label, maxButtonLabel), true, false))
			switch b.Style {
			case "primary":
				btn.Style = slack.StylePrimary
			case "danger":
				btn.Style = slack.StyleDanger
			}
			elems = append(elems, btn)
		}
		blocks = append(blocks, slack.NewActionBlock("a-"+nonce, elems...))
	}
	r := rendered{fallback: fallbackText(p), blocks: blocks}
	if c, ok := severityColours[p.Severity]; ok && len(blocks) > 0 {
		r.attachments = []slack.Attachment{{Color: c, Fallback: r.fallback, Blocks: slack.Blocks{BlockSet: blocks}}}
	}
	return r
}

// fallbackText is the plain text of a post for notifications and for
// clients that can't show blocks.
func fallbackText(p chat.Post) string {
	t := escape(chat.Plain(p.Text))
	switch p.Severity {
	case chat.SeverityCritical:
		t = "[CRITICAL] " + t
	case chat.SeverityWarning:
		t = "[WARNING] " + t
	}
	if strings.TrimSpace(t) == "" {
		t = "(opsbot)"
	}
	return cut(t, maxFallback)
}

// cut shortens s to at most n bytes, at a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	end := n - len(mark)
	for end > 0 && end < len(s) && (s[end]&0xC0) == 0x80 {
		end--
	}
	return s[:end] + mark
}
