package teams

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// adaptiveCardType is the content type of an Adaptive Card attachment.
const adaptiveCardType = "application/vnd.microsoft.card.adaptive"

// Post sends p to a conversation (to.ID: "19:…@thread.tacv2" for a channel,
// where it starts a new thread, or a chat's conversation ID).
func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	if url, ok := a.webhookURL(to.ID); ok {
		return a.postWebhook(ctx, to, url, p)
	}
	base, _ := splitConversation(to.ID)
	return a.create(ctx, to, base, "", p)
}

// PostInThread replies in the channel thread of parent. Chats (personal
// and group) have no threads: there the reply is a post prefixed with its
// thread key.
func (a *Adapter) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	if ref, ok := a.answer(parent.Room, parent, p); ok {
		return ref, nil
	}
	base, _ := splitConversation(parent.Room.ID)
	root := parent.Thread
	if root == "" {
		root = parent.ID
	}
	_, webhook := a.webhookURL(base)
	if kind := a.conversation(base).kind; kind == "personal" || kind == "groupChat" || webhook {
		if p.ThreadKey != "" {
			p.Text = "[" + p.ThreadKey + "] " + p.Text
		}
		return a.create(ctx, parent.Room, base, "", p)
	}
	return a.create(ctx, parent.Room, base, root, p)
}

func (a *Adapter) create(ctx context.Context, room chat.Room, base, root string, p chat.Post) (chat.Ref, error) {
	if url, ok := a.webhookURL(base); ok {
		return a.postWebhook(ctx, room, url, p)
	}
	if err := a.unanswerable(base); err != nil {
		return chat.Ref{}, err
	}
	if !a.isBot() {
		return chat.Ref{}, fmt.Errorf("teams: %w: %q is not one of the webhooks and no bot is configured (app_id)", chat.ErrPermanent, base)
	}
	conv := base
	if root != "" {
		conv += ";messageid=" + root
	}
	act := a.render(p)
	act.Conversation = &conversationAccount{ID: conv}
	var res resourceResponse
	svc := a.conversation(base).serviceURL
	if err := a.send(ctx, http.MethodPost, svc, "/v3/conversations/"+url.PathEscape(conv)+"/activities", act, &res); err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: chat.Room{Adapter: Name, ID: base, Name: room.Name}, ID: res.ID, Thread: root}, nil
}

// Update replaces a post the bot made. A webhook room cannot edit: there
// the new version is posted.
func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	if _, ok := a.answer(ref.Room, ref, p); ok {
		return nil
	}
	if url, ok := a.webhookURL(ref.Room.ID); ok {
		_, err := a.postWebhook(ctx, ref.Room, url, p)
		return err
	}
	if base, _ := splitConversation(ref.Room.ID); a.unanswerable(base) != nil {
		return a.unanswerable(base)
	}
	if !a.isBot() {
		return fmt.Errorf("teams: %w: no bot is configured (app_id)", chat.ErrPermanent)
	}
	base, _ := splitConversation(ref.Room.ID)
	conv := base
	if ref.Thread != "" && ref.Thread != ref.ID {
		conv += ";messageid=" + ref.Thread
	}
	act := a.render(p)
	act.ID = ref.ID
	act.Conversation = &conversationAccount{ID: conv}
	svc := a.conversation(base).serviceURL
	return a.send(ctx, http.MethodPut, svc, "/v3/conversations/"+url.PathEscape(conv)+"/activities/"+url.PathEscape(ref.ID), act, nil)
}

// Container styles for the severities.
var styles = map[chat.Severity]string{
	chat.SeverityInfo:     "accent",
	chat.SeveritySuccess:  "good",
	chat.SeverityWarning:  "warning",
	chat.SeverityCritical: "attention",
}

// render turns p into a message activity: Markdown text, or an Adaptive
// Card when p has rich parts.
func (a *Adapter) render(p chat.Post) activity {
	text, entities := a.mentions(p)
	act := activity{Type: "message", Entities: entities}
	if p.Severity == "" && len(p.Fields) == 0 && len(p.Links) == 0 && len(p.Buttons) == 0 && p.Image == nil {
		act.Text, act.TextFormat = text, "markdown"
		return act
	}
	act.Summary = firstLine(chat.Plain(p.Text))
	act.Attachments = []cardAttachment{{ContentType: adaptiveCardType, Content: a.card(p)}}
	return act
}

// card is p as an Adaptive Card: the text, a FactSet of the fields, the
// image, in a Container styled by severity; links as Action.OpenUrl and
// buttons as Action.Submit.
func (a *Adapter) card(p chat.Post) map[string]any {
	text, entities := a.mentions(p)
	var body []any
	if text != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": text, "wrap": true})
	}
	if len(p.Fields) > 0 {
		var facts []any
		for _, f := range p.Fields {
			facts = append(facts, map[string]any{"title": f.Name, "value": f.Value})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	if p.Image != nil && p.Image.URL != "" {
		body = append(body, map[string]any{"type": "Image", "url": p.Image.URL, "altText": p.Image.Alt})
	}
	if style, ok := styles[p.Severity]; ok {
		body = []any{map[string]any{"type": "Container", "style": style, "bleed": true, "items": body}}
	}
	var actions []any
	for _, l := range p.Links {
		title := l.Title
		if title == "" {
			title = l.URL
		}
		actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": title, "url": l.URL})
	}
	for _, b := range p.Buttons {
		act := map[string]any{"type": "Action.Submit", "title": b.Label, "data": map[string]any{dataButton: b.ID, dataValue: b.Value}}
		switch b.Style {
		case "primary", "success", "good":
			act["style"] = "positive"
		case "danger", "critical", "destructive":
			act["style"] = "destructive"
		}
		actions = append(actions, act)
	}
	card := map[string]any{
		"type":    "AdaptiveCard",
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"version": "1.4",
		"body":    body,
		"msteams": map[string]any{"width": "Full"},
	}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	if len(entities) > 0 { // mentions in a card are declared in the card
		card["msteams"].(map[string]any)["entities"] = entities
	}
	return card
}

// mentions renders p's text with its mentions first, and their entities.
func (a *Adapter) mentions(p chat.Post) (string, []entity) {
	text := chat.Render(p.Text, markdown{})
	if len(p.Mentions) == 0 {
		return text, nil
	}
	var at []string
	var entities []entity
	for _, id := range p.Mentions {
		name := a.nameOf(id)
		at = append(at, "<at>"+escape(name)+"</at>")
		entities = append(entities, entity{Type: "mention", Text: "<at>" + escape(name) + "</at>", Mentioned: &channelAccount{ID: id, Name: name}})
	}
	return strings.Join(at, " ") + " " + text, entities
}

func (a *Adapter) nameOf(id string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := a.names[id]; n != "" {
		return n
	}
	return id
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// markdown renders the Markdown subset of chat posts in the Markdown Teams
// understands: **bold**, _italic_, `code`, fenced blocks, [label](url).
type markdown struct{ chat.PlainRenderer }

func (markdown) Text(s string) string        { return escape(s) }
func (markdown) Bold(inner string) string    { return "**" + inner + "**" }
func (markdown) Italic(inner string) string  { return "_" + inner + "_" }
func (markdown) Code(s string) string        { return "`" + s + "`" }
func (markdown) Block(lang, s string) string { return "```" + lang + "\n" + s + "\n```" }
func (markdown) Link(label, url string) string {
	if label == "" {
		return url
	}
	return "[" + label + "](" + url + ")"
}

// escape backslash-escapes the characters that would start Markdown markup
// and the angle brackets Teams would read as HTML.
func escape(s string) string {
	if !strings.ContainsAny(s, "\\*_`[]<>") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '*', '_', '`', '[', ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
