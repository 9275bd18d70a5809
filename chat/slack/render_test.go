package slack

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat"
)

// Whatever the post, the blocks keep to Block Kit's limits.
func TestRenderKeepsToBlockKitLimits(t *testing.T) {
	a, err := New(Config{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: "http://127.0.0.1:1/"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fields []chat.Field
	for i := range 150 {
		fields = append(fields, chat.Field{Name: fmt.Sprintf("f%d", i), Value: strings.Repeat("v", 2500)})
	}
	var buttons []chat.Button
	for i := range 30 {
		buttons = append(buttons, chat.Button{ID: "same", Label: strings.Repeat("L", 100), Value: fmt.Sprint(i)})
	}
	buttons = append(buttons, chat.Button{Value: "no label"})
	for _, p := range []chat.Post{
		{Text: strings.Repeat("word ", 40000)},
		{Text: strings.Repeat("日本語のテキスト\n", 20000), Fields: fields, Buttons: buttons, Links: []chat.Link{{Title: "a", URL: "https://a"}}},
		{Text: "", Severity: chat.SeverityWarning},
		{Text: "```\n" + strings.Repeat("code line\n", 5000) + "```"},
	} {
		r := a.render(p, "n")
		blocks := r.blocks
		if len(blocks) > maxBlocks {
			t.Errorf("%d blocks", len(blocks))
		}
		for _, b := range blocks {
			switch x := b.(type) {
			case *slack.SectionBlock:
				if x.Text != nil && utf8.RuneCountInString(x.Text.Text) > maxSectionText {
					t.Errorf("a section of %d characters", utf8.RuneCountInString(x.Text.Text))
				}
				if len(x.Fields) > maxFields {
					t.Errorf("%d fields in a section", len(x.Fields))
				}
				for _, f := range x.Fields {
					if len(f.Text) > maxFieldText {
						t.Errorf("a field of %d bytes", len(f.Text))
					}
				}
			case *slack.ActionBlock:
				ids := map[string]bool{}
				if len(x.Elements.ElementSet) > maxActions {
					t.Errorf("%d buttons", len(x.Elements.ElementSet))
				}
				for _, e := range x.Elements.ElementSet {
					btn := e.(*slack.ButtonBlockElement)
					if ids[btn.ActionID] || btn.Text.Text == "" || utf8.RuneCountInString(btn.Text.Text) > maxButtonLabel {
						t.Errorf("button %q %q", btn.ActionID, btn.Text.Text)
					}
					ids[btn.ActionID] = true
				}
			}
		}
		if utf8.RuneCountInString(r.fallback) > maxFallback {
			t.Errorf("fallback of %d characters", utf8.RuneCountInString(r.fallback))
		}
	}
}
