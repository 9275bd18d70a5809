package shell

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/opsbot/opsbot/chat"
)

// Post prints p in room to and returns its Ref (the ID is the post's number).
func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	return a.print(ctx, to, "", p)
}

// PostInThread prints p as a reply in parent's thread.
func (a *Adapter) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	to := parent.Room
	root := parent.Thread
	a.mu.Lock()
	if known, ok := a.places[parent.ID]; ok {
		if to.ID == "" {
			to = room(known.room)
		}
		if root == "" {
			root = known.root
		}
	}
	a.mu.Unlock()
	if root == "" {
		root = parent.ID
	}
	if to.ID == "" || root == "" {
		return chat.Ref{}, fmt.Errorf("shell: thread parent %q names no room: %w", parent.ID, chat.ErrPermanent)
	}
	return a.print(ctx, to, root, p)
}

// Update prints the new text of a post, marked "(edited #ID)".
func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("shell: update #%s: %w", ref.ID, err)
	}
	a.mu.Lock()
	known, ok := a.places[ref.ID]
	a.mu.Unlock()
	if !ok {
		return fmt.Errorf("shell: update #%s: no such post: %w", ref.ID, chat.ErrPermanent)
	}
	thread := known.root
	if thread == ref.ID {
		thread = ""
	}
	text := "(edited #" + ref.ID + ") " + format(known.room, thread, a.bot, "", p)
	if err := a.write(text); err != nil {
		return fmt.Errorf("shell: update #%s: %w", ref.ID, err)
	}
	return nil
}

func (a *Adapter) print(ctx context.Context, to chat.Room, thread string, p chat.Post) (chat.Ref, error) {
	if err := ctx.Err(); err != nil {
		return chat.Ref{}, fmt.Errorf("shell: post to %s: %w", to, err)
	}
	name := to.ID
	if name == "" {
		name = to.Name
	}
	if name == "" {
		return chat.Ref{}, fmt.Errorf("shell: post to a room without a name: %w", chat.ErrPermanent)
	}
	// The number is taken under writeMu so that posts print in number order.
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	a.mu.Lock()
	a.lastPost++
	id := strconv.Itoa(a.lastPost)
	root := thread
	if root == "" {
		root = id
	}
	a.places[id] = place{room: name, root: root}
	a.mu.Unlock()
	if err := a.writeLocked(format(name, thread, a.bot, id, p)); err != nil {
		return chat.Ref{}, fmt.Errorf("shell: post to %s: %w", to, err)
	}
	return chat.Ref{Room: to, ID: id, Thread: thread}, nil
}

// format renders a post: a header line, then the post's other lines indented.
// id is appended to the header as " (#id)" unless empty.
func format(room, thread, bot, id string, p chat.Post) string {
	lines := strings.Split(p.Text, "\n")
	if len(p.Mentions) > 0 {
		lines[0] = "@" + strings.Join(p.Mentions, " @") + " " + lines[0]
	}
	for _, f := range p.Fields {
		lines = append(lines, f.Name+": "+f.Value)
	}
	for _, l := range p.Links {
		lines = append(lines, strings.TrimPrefix(l.Title+": "+l.URL, ": "))
	}
	if p.Image != nil && p.Image.URL != "" {
		lines = append(lines, strings.TrimPrefix(p.Image.Alt+": "+p.Image.URL, ": "))
	}
	for _, b := range p.Buttons {
		lines = append(lines, "["+b.Label+"] sends: "+b.Value)
	}

	var out strings.Builder
	out.WriteString("[" + room)
	if thread != "" {
		out.WriteString(" #" + thread)
	}
	out.WriteString("] " + bot + ":")
	if lines[0] != "" {
		out.WriteString(" " + lines[0])
	}
	if id != "" {
		out.WriteString(" (#" + id + ")")
	}
	for _, l := range lines[1:] {
		out.WriteString("\n  " + l)
	}
	return out.String()
}

// say prints a line of the shell's own.
func (a *Adapter) say(text string) {
	// The shell's own lines are best effort: a broken output ends Run's reads anyway.
	_ = a.write(text)
}

func (a *Adapter) write(text string) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	return a.writeLocked(text)
}

// writeLocked writes text and a newline in one Write; a.writeMu is held.
func (a *Adapter) writeLocked(text string) error {
	_, err := io.WriteString(a.out, text+"\n")
	return err
}
