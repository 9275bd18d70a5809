package slack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat"
)

// splitOver is the size of one message when upload_over is -1 (never
// upload): a long text is then split into messages of at most this much.
const splitOver = 4 * maxSectionText

// previewMax bounds the preview posted above an uploaded long text.
const previewMax = 1500

// Post posts p to a room: a channel by ID or name ("C024BE91L", "#ops"),
// a direct message channel (D…), or a user (U…: the bot's DM with them).
func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	room, err := a.roomFor(ctx, to)
	if err != nil {
		return chat.Ref{}, err
	}
	return a.send(ctx, room, "", p)
}

// PostInThread replies in the thread of parent (chat.postMessage with
// thread_ts: the root of parent's thread, or parent itself).
func (a *Adapter) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	room, err := a.roomFor(ctx, parent.Room)
	if err != nil {
		return chat.Ref{}, err
	}
	root := parent.Thread
	if root == "" {
		root = parent.ID
	}
	if !looksLikeTS(root) { // an upload's Ref names a file, not a message
		root = ""
	}
	return a.send(ctx, room, root, p)
}

// Update edits a post of the bot's in place (chat.update). A text over
// upload_over is cut to a preview and uploaded whole in the post's thread.
func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	room, err := a.roomFor(ctx, ref.Room)
	if err != nil {
		return err
	}
	if !looksLikeTS(ref.ID) {
		return fmt.Errorf("slack: update %q: not a message: %w", ref.ID, chat.ErrPermanent)
	}
	var long string
	if a.cfg.UploadOver > 0 && len(p.Text) > a.cfg.UploadOver {
		long, p.Text = p.Text, preview(p.Text, "the whole text is in the file in this message's thread")
	} else if len(p.Text) > splitOver*10 {
		p.Text = chat.Split(p.Text, splitOver*10)[0] + truncatedMessage
	}
	if err := a.edit(ctx, room.ID, ref.ID, p); err != nil {
		return err
	}
	if long != "" {
		thread := ref.Thread
		if thread == "" {
			thread = ref.ID
		}
		if _, err := a.upload(ctx, room.ID, thread, "opsbot-output.txt", "output", []byte(chat.Plain(long))); err != nil {
			return fmt.Errorf("slack: update %s: upload the whole text: %w", ref.ID, err)
		}
	}
	return nil
}

func (a *Adapter) edit(ctx context.Context, channel, ts string, p chat.Post) error {
	if err := a.limits.wait(ctx, "chat.update"); err != nil {
		return err
	}
	r := a.render(p, nonce())
	if _, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts, r.editOptions()...); err != nil {
		return a.classify("chat.update", err)
	}
	return nil
}

// Upload shares data as a file in a room. Its Ref names the file ("F…"):
// Slack shares it asynchronously and does not say in which message.
func (a *Adapter) Upload(ctx context.Context, to chat.Room, name string, data []byte) (chat.Ref, error) {
	room, err := a.roomFor(ctx, to)
	if err != nil {
		return chat.Ref{}, err
	}
	id, err := a.upload(ctx, room.ID, "", name, name, data)
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: room, ID: id}, nil
}

// React adds a reaction (an emoji name, with or without colons) to a message.
func (a *Adapter) React(ctx context.Context, ref chat.Ref, emoji string) error {
	room, err := a.roomFor(ctx, ref.Room)
	if err != nil {
		return err
	}
	if err := a.limits.wait(ctx, "reactions.add"); err != nil {
		return err
	}
	err = a.api.AddReactionContext(ctx, strings.Trim(emoji, ":"), slack.NewRefToMessage(room.ID, ref.ID))
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "already_reacted" {
		return nil
	}
	return a.classify("reactions.add", err)
}

// AnswerClick answers a button click where it happened: privately to the
// person who clicked (chat.postEphemeral, e.g. "not yours"), or by
// replacing the message the button was on (chat.update, e.g. "confirmed
// by alice"), which also removes its buttons. click is the Message the
// click arrived as.
func (a *Adapter) AnswerClick(ctx context.Context, click chat.Message, p chat.Post, private bool) error {
	c, ok := a.clicks.get(click.ID)
	if !ok {
		return fmt.Errorf("slack: answer click %s: no such click (too old?): %w", click.ID, chat.ErrPermanent)
	}
	if !private {
		return a.edit(ctx, c.channel, c.messageTS, p)
	}
	if err := a.limits.wait(ctx, "chat.postEphemeral"); err != nil {
		return err
	}
	opts := a.render(p, nonce()).options()
	if c.threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(c.threadTS))
	}
	_, err := a.api.PostEphemeralContext(ctx, c.channel, c.user, opts...)
	return a.classify("chat.postEphemeral", err)
}

// send posts p to room (in thread threadTS when set): as one message, or,
// for a long text, as a preview with the whole text uploaded as a file
// below it (upload_over), or as several messages (upload_over -1).
func (a *Adapter) send(ctx context.Context, room chat.Room, threadTS string, p chat.Post) (chat.Ref, error) {
	if a.cfg.UploadOver > 0 && len(p.Text) > a.cfg.UploadOver {
		long := p.Text
		p.Text = preview(long, "the whole text is in the file below")
		ref, err := a.sendOne(ctx, room, threadTS, p)
		if err != nil {
			return ref, err
		}
		if _, err := a.upload(ctx, room.ID, threadTS, "opsbot-output.txt", "output", []byte(chat.Plain(long))); err != nil {
			return ref, fmt.Errorf("slack: post to %s: upload the whole text: %w", room, err)
		}
		return ref, nil
	}
	if len(p.Text) <= splitOver {
		return a.sendOne(ctx, room, threadTS, p)
	}
	parts := chat.Split(p.Text, splitOver)
	var first chat.Ref
	for i, t := range parts {
		part := chat.Post{Text: t, Severity: p.Severity, ThreadKey: p.ThreadKey}
		if i == 0 {
			part.Mentions = p.Mentions
		}
		if i == len(parts)-1 {
			part.Fields, part.Links, part.Buttons, part.Image = p.Fields, p.Links, p.Buttons, p.Image
		}
		ref, err := a.sendOne(ctx, room, threadTS, part)
		if err != nil {
			return first, fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
		}
		if i == 0 {
			first = ref
		}
	}
	return first, nil
}

func (a *Adapter) sendOne(ctx context.Context, room chat.Room, threadTS string, p chat.Post) (chat.Ref, error) {
	r := a.render(p, nonce())
	opts := r.options()
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	ch, ts, err := a.api.PostMessageContext(ctx, room.ID, opts...)
	if notMember(err) {
		// A slash command run where the bot is not a member: answer
		// through its response URL.
		if ref, used, rerr := a.respond(ctx, room, r); used {
			return ref, rerr
		}
	}
	if err != nil {
		return chat.Ref{}, a.classify("chat.postMessage", err)
	}
	if ch != "" && ch != room.ID { // a post to a user (U…) lands in the DM channel (D…)
		room.ID = ch
	}
	ref := chat.Ref{Room: room, ID: ts, Thread: threadTS}
	if p.Image != nil && p.Image.URL == "" && len(p.Image.Data) > 0 {
		name := p.Image.Alt
		if name == "" {
			name = "image"
		}
		if _, err := a.upload(ctx, room.ID, threadTS, name, name, p.Image.Data); err != nil {
			return ref, fmt.Errorf("slack: post to %s: upload the image: %w", room, err)
		}
	}
	return ref, nil
}

// upload shares data as a file (files.getUploadURLExternal, the upload,
// files.completeUploadExternal) and returns its ID.
func (a *Adapter) upload(ctx context.Context, channel, threadTS, name, title string, data []byte) (string, error) {
	if len(data) == 0 {
		return "", fmt.Errorf("slack: upload %s: the file is empty: %w", name, chat.ErrPermanent)
	}
	for _, m := range []string{"files.getUploadURLExternal", "files.completeUploadExternal"} {
		if err := a.limits.wait(ctx, m); err != nil {
			return "", err
		}
	}
	f, err := a.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: bytes.NewReader(data), FileSize: len(data), Filename: name, Title: title,
		Channel: channel, ThreadTimestamp: threadTS,
	})
	if err != nil {
		return "", a.classify("files.completeUploadExternal", err)
	}
	return f.ID, nil
}

// preview is the start of a long text, cut at a line boundary (code blocks
// closed), followed by a note saying where the rest is.
func preview(text, where string) string {
	head := chat.Split(text, previewMax)[0]
	lines := strings.Count(text, "\n") + 1
	return fmt.Sprintf("%s\n_… %d lines, %d KB: %s_", head, lines, (len(text)+1023)/1024, where)
}

// roomFor resolves a room to its channel ID, keeping or finding its name.
func (a *Adapter) roomFor(ctx context.Context, r chat.Room) (chat.Room, error) {
	if r.ID == "" {
		return chat.Room{}, fmt.Errorf("slack: a room without ID: %w", chat.ErrPermanent)
	}
	id := r.ID
	if !looksLikeUserID(id) {
		var err error
		if id, err = a.dir.channelID(ctx, r.ID); err != nil {
			return chat.Room{}, fmt.Errorf("slack: room %s: %w", r.ID, err)
		}
	}
	out := chat.Room{Adapter: Name, ID: id, Name: r.Name}
	if out.Name == "" || out.Name == r.ID && !strings.HasPrefix(out.Name, "#") {
		if n := a.dir.knownChannelName(id); n != "" {
			out.Name = "#" + n
		}
	}
	return out, nil
}

// looksLikeTS reports whether s is a message timestamp ("1515449522.000016").
func looksLikeTS(s string) bool {
	whole, frac, ok := strings.Cut(s, ".")
	return ok && whole != "" && frac != "" && strings.Trim(whole, "0123456789") == "" && strings.Trim(frac, "0123456789") == ""
}

// nonce makes block IDs unique per message and per edit, as Slack asks.
func nonce() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
