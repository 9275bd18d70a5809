package mattermost

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// Post sends p to a channel (to.ID: a channel ID, or a channel name in the
// configured team).
func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	return a.create(ctx, to, "", p, nil)
}

// PostInThread replies in the thread of parent (root_id: the thread's root).
func (a *Adapter) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	root := parent.Thread
	if root == "" {
		root = parent.ID
	}
	return a.create(ctx, parent.Room, root, p, nil)
}

// Upload posts a file to a channel.
func (a *Adapter) Upload(ctx context.Context, to chat.Room, name string, data []byte) (chat.Ref, error) {
	id, err := a.channelID(ctx, to.ID)
	if err != nil {
		return chat.Ref{}, err
	}
	fileID, err := a.upload(ctx, id, name, data)
	if err != nil {
		return chat.Ref{}, fmt.Errorf("mattermost: upload %s: %w", name, err)
	}
	return a.create(ctx, to, "", chat.Post{}, []string{fileID})
}

func (a *Adapter) create(ctx context.Context, to chat.Room, root string, p chat.Post, files []string) (chat.Ref, error) {
	id, err := a.channelID(ctx, to.ID)
	if err != nil {
		return chat.Ref{}, err
	}
	msg, props := a.render(ctx, p)
	var out post
	in := post{ChannelID: id, RootID: root, Message: msg, Props: props, FileIDs: files}
	if err := a.call(ctx, http.MethodPost, "/posts", in, &out); err != nil {
		return chat.Ref{}, err
	}
	ref := chat.Ref{Room: chat.Room{Adapter: Name, ID: id, Name: to.Name}, ID: out.ID, Thread: out.RootID}
	return ref, nil
}

// Update replaces the message and attachments of a post the bot made.
func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	msg, props := a.render(ctx, p)
	if props == nil {
		props = map[string]any{"attachments": []attachment{}} // drop the old attachments (and buttons)
	}
	return a.call(ctx, http.MethodPut, "/posts/"+ref.ID+"/patch", patch{Message: &msg, Props: props}, nil)
}

// React adds the emoji (a name like "white_check_mark", colons optional) to a post.
func (a *Adapter) React(ctx context.Context, ref chat.Ref, emoji string) error {
	me, err := a.botUser(ctx)
	if err != nil {
		return err
	}
	r := reaction{UserID: me.ID, PostID: ref.ID, EmojiName: strings.Trim(emoji, ":")}
	return a.call(ctx, http.MethodPost, "/reactions", r, nil)
}

// username is the username of a user ID (asked once, then remembered), or
// who itself when it is not an ID or the lookup fails.
func (a *Adapter) username(ctx context.Context, who string) string {
	if !isID(who) {
		return who
	}
	a.mu.Lock()
	name, ok := a.usernames[who]
	a.mu.Unlock()
	if ok {
		return name
	}
	var u user
	if err := a.call(ctx, http.MethodGet, "/users/"+who, nil, &u); err != nil || u.Username == "" {
		a.log.Warn("mattermost: cannot name a user to mention", "user_id", who, "err", err)
		return who
	}
	a.mu.Lock()
	if len(a.usernames) >= 10000 {
		clear(a.usernames)
	}
	a.usernames[who] = u.Username
	a.mu.Unlock()
	return u.Username
}

// Severity colours, Mattermost's own palette for good, warning and danger.
var colours = map[chat.Severity]string{
	chat.SeverityInfo:     "#2389D7",
	chat.SeveritySuccess:  "#3DB887",
	chat.SeverityWarning:  "#FFBC1F",
	chat.SeverityCritical: "#D24B4E",
}

// render turns p into a message and, for the rich parts, props with one
// message attachment.
func (a *Adapter) render(ctx context.Context, p chat.Post) (string, map[string]any) {
	msg := chat.Render(p.Text, markdown{})
	if len(p.Mentions) > 0 {
		var at []string
		for _, m := range p.Mentions {
			at = append(at, "@"+a.username(ctx, strings.TrimPrefix(m, "@")))
		}
		msg = strings.Join(at, " ") + " " + msg
	}
	if p.Severity == "" && len(p.Fields) == 0 && len(p.Links) == 0 && len(p.Buttons) == 0 && p.Image == nil {
		return msg, nil
	}
	att := attachment{Color: colours[p.Severity], Fallback: chat.Plain(p.Text)}
	for _, f := range p.Fields {
		att.Fields = append(att.Fields, attachmentField{Title: f.Name, Value: f.Value, Short: f.Short})
	}
	var links []string
	for _, l := range p.Links {
		title := l.Title
		if title == "" {
			title = l.URL
		}
		links = append(links, "["+escape(title)+"]("+l.URL+")")
	}
	att.Text = strings.Join(links, " · ")
	if p.Image != nil && p.Image.URL != "" {
		att.ImageURL = p.Image.URL
	}
	for _, b := range p.Buttons {
		att.Actions = append(att.Actions, attachmentAction{
			ID:    actionID(b.ID),
			Name:  b.Label,
			Type:  "button",
			Style: buttonStyle(b.Style),
			Integration: actionIntegration{
				URL: a.cfg.ActionURL,
				Context: map[string]any{
					ctxButton: b.ID,
					ctxValue:  b.Value,
					ctxSig:    a.sign(b.ID, b.Value),
				},
			},
		})
	}
	return msg, map[string]any{"attachments": []attachment{att}}
}

// actionID makes a button ID acceptable as a Mattermost action ID (letters
// and digits only: the server routes clicks by it).
func actionID(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "action"
	}
	return b.String()
}

// buttonStyle maps a button style to Mattermost's (default, primary,
// success, good, warning, danger).
func buttonStyle(s string) string {
	switch s {
	case "primary", "success", "good", "warning", "danger":
		return s
	case "critical", "destructive":
		return "danger"
	}
	return "default"
}

// markdown renders the Markdown subset of chat posts in Mattermost's
// Markdown: **bold**, _italic_, `code`, fenced blocks, [label](url).
type markdown struct{ chat.PlainRenderer }

func (markdown) Text(s string) string       { return escape(s) }
func (markdown) Bold(inner string) string   { return "**" + inner + "**" }
func (markdown) Italic(inner string) string { return "_" + inner + "_" }
func (markdown) Code(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}
func (markdown) Block(lang, s string) string { return "```" + lang + "\n" + s + "\n```" }
func (markdown) Link(label, url string) string {
	if label == "" {
		return "<" + url + ">"
	}
	return "[" + label + "](" + url + ")"
}

// escape backslash-escapes the characters that would start Markdown markup.
func escape(s string) string {
	if !strings.ContainsAny(s, "\\*_`[]~<>|") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\*_`[]~<>|", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
