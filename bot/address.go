package bot

import (
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// addressed strips the bot's address from text: "opsbot: x", "@opsbot x",
// "opsbot, x", an alias, or the configured prefix ("!x"). In a direct message
// no address is needed. ok is false when the message is not for the bot.
func (b *Bot) addressed(m chat.Message) (string, bool) {
	text := strings.TrimSpace(m.Text)
	if b.prefix != "" && strings.HasPrefix(text, b.prefix) {
		return strings.TrimSpace(text[len(b.prefix):]), true
	}
	lowered := strings.ToLower(text)
	for _, name := range append([]string{b.name}, b.aliases...) {
		for _, form := range []string{"@" + name, name} {
			if !strings.HasPrefix(lowered, form) {
				continue
			}
			rest := text[len(form):]
			if rest == "" {
				return "", true
			}
			switch rest[0] {
			case ':', ',', ' ', '\t':
				return strings.TrimSpace(strings.TrimLeft(rest, ":,")), true
			}
		}
	}
	if m.Direct {
		return text, true
	}
	return text, false
}
