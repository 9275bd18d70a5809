package slacktest

import (
	"regexp"
	"strings"

	"github.com/slack-go/slack"
)

// Seen is what a person sees of the bot's messages in channel (a name or
// an ID), thread replies and shared files included, in order: the text of
// the blocks (buttons as "[Label]"), or of the message, with mentions,
// channels and links shown by name, or the content of a file.
func (s *Server) Seen(channel string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, code := s.resolveChannelLocked(channel)
	if code != "" {
		return nil
	}
	var out []string
	for _, m := range s.messages {
		if m.Channel == c.ID && m.User == BotUserID {
			out = append(out, s.humanLocked(m))
		}
	}
	return out
}

// Thread is what a person sees in the thread under message ts: every
// reply, the bot's and other people's.
func (s *Server) Thread(channel, ts string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, code := s.resolveChannelLocked(channel)
	if code != "" {
		return nil
	}
	var out []string
	for _, m := range s.messages {
		if m.Channel == c.ID && m.ThreadTS == ts && m.TS != ts {
			out = append(out, s.humanLocked(m))
		}
	}
	return out
}

// Messages are copies of the bot's messages in channel, in order.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, code := s.resolveChannelLocked(channel)
	if code != "" {
		return nil
	}
	var out []Message
	for _, m := range s.messages {
		if m.Channel == c.ID && m.User == BotUserID {
			out = append(out, *m)
		}
	}
	return out
}

// Text is what a person sees of one message.
func (s *Server) Text(m Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.humanLocked(&m)
}

// Ephemerals is what user saw privately (chat.postEphemeral), in order.
func (s *Server) Ephemerals(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	uid := s.userIDLocked(user)
	var out []string
	for _, e := range s.ephemerals {
		if e.User == uid {
			out = append(out, s.humanLocked(&Message{Text: e.Text, Blocks: e.Blocks, Attachments: e.Attachments}))
		}
	}
	return out
}

// Reactions are the reactions the bot added.
func (s *Server) Reactions() []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Reaction(nil), s.reactions...)
}

// Colour is the colour bar of a message ("" for none).
func Colour(m Message) string {
	for _, a := range m.Attachments {
		if a.Color != "" {
			return a.Color
		}
	}
	return ""
}

// Buttons are the labels of a message's buttons.
func Buttons(m Message) []string {
	var out []string
	for _, b := range allBlocks(&m) {
		if ab, ok := b.(*slack.ActionBlock); ok && ab.Elements != nil {
			for _, e := range ab.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.Text != nil {
					out = append(out, btn.Text.Text)
				}
			}
		}
	}
	return out
}

func (s *Server) humanLocked(m *Message) string {
	if m.File != nil {
		text := string(m.File.Content)
		if m.Text != "" {
			text = s.humanize(m.Text) + "\n" + text
		}
		return text
	}
	blocks := allBlocks(m)
	if len(blocks) == 0 {
		return s.humanize(m.Text)
	}
	var parts []string
	for _, b := range blocks {
		switch x := b.(type) {
		case *slack.SectionBlock:
			if x.Text != nil {
				parts = append(parts, s.humanize(x.Text.Text))
			}
			for _, f := range x.Fields {
				parts = append(parts, s.humanize(f.Text))
			}
		case *slack.ContextBlock:
			var items []string
			for _, e := range x.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					items = append(items, s.humanize(t.Text))
				}
			}
			parts = append(parts, strings.Join(items, " · "))
		case *slack.ImageBlock:
			parts = append(parts, "[image: "+x.AltText+"]")
		case *slack.HeaderBlock:
			if x.Text != nil {
				parts = append(parts, x.Text.Text)
			}
		case *slack.ActionBlock:
			var labels []string
			if x.Elements != nil {
				for _, e := range x.Elements.ElementSet {
					if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.Text != nil {
						labels = append(labels, "["+btn.Text.Text+"]")
					}
				}
			}
			parts = append(parts, strings.Join(labels, " "))
		}
	}
	return strings.Join(parts, "\n")
}

var special = regexp.MustCompile(`<([^<>]+)>`)

// humanize shows Slack's special sequences as a person sees them.
func (s *Server) humanize(text string) string {
	out := special.ReplaceAllStringFunc(text, func(tok string) string {
		target, label, hasLabel := strings.Cut(tok[1:len(tok)-1], "|")
		switch {
		case strings.HasPrefix(target, "@"):
			if n, ok := s.users[target[1:]]; ok {
				return "@" + n
			}
		case strings.HasPrefix(target, "#"):
			if hasLabel {
				return "#" + label
			}
			if c, ok := s.channels[target[1:]]; ok {
				return "#" + c.Name
			}
		case strings.HasPrefix(target, "!"):
			return "@" + strings.TrimPrefix(target, "!")
		}
		if hasLabel {
			return label
		}
		return target
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(out)
}

// DMChannel is the ID of the direct message channel between the bot and user.
func (s *Server) DMChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.imLocked(s.userIDLocked(user)).ID
}

// ButtonID is the action_id of the button labelled label on m, or "".
func ButtonID(m Message, label string) string {
	for _, b := range allBlocks(&m) {
		if ab, ok := b.(*slack.ActionBlock); ok && ab.Elements != nil {
			for _, e := range ab.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.Text != nil && btn.Text.Text == label {
					return btn.ActionID
				}
			}
		}
	}
	return ""
}
