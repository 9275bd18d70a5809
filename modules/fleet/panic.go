package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store"
)

// panic is the panic button: the platform report goes to the configured
// rooms (or the room it was pressed in) mentioning the responders, and a
// fleet.panic event (critical) goes to the event log, where the alerts
// module pages on-call. "panic production the db is gone" narrows the
// report to production.
func (m *Module) panic(ctx context.Context, c *command.Call) error {
	reason := strings.TrimSpace(c.Args["reason"])
	env := ""
	if first, rest, _ := strings.Cut(reason, " "); first != "" && slices.Contains(m.fleet.Envs(), strings.ToLower(first)) {
		env, reason = strings.ToLower(first), strings.TrimSpace(rest)
	}
	r, err := m.fleet.Platform(ctx, env)
	if err != nil {
		return err
	}
	report := renderPlatform(r)
	head := fmt.Sprintf("PANIC from %s", c.User.Name)
	if reason != "" {
		head += ": " + reason
	}
	cfg := m.fleet.Config()
	rooms := []chat.Room{c.Msg.Room}
	if len(cfg.Panic.Rooms) > 0 {
		rooms = rooms[:0]
		for _, name := range cfg.Panic.Rooms {
			rooms = append(rooms, m.resolveRoom(name, c.Msg.Room))
		}
	}
	var posted, failed []string
	for _, room := range rooms {
		ids, names := m.mentions(ctx, room.Adapter, cfg.Panic.Responders)
		text := "*" + head + "*"
		if len(names) > 0 {
			text += "\nResponders: " + strings.Join(names, ", ")
		}
		post := chat.Post{Text: text + "\n" + report.Text, Severity: chat.SeverityCritical, Mentions: ids}
		if _, err := c.PostTo(ctx, room, post); err != nil {
			m.log.Error("panic post failed", "room", room.String(), "err", err)
			failed = append(failed, roomName(room))
			continue
		}
		posted = append(posted, roomName(room))
	}
	labels := map[string]string{"by": c.User.Name, "env": env}
	if env == "" {
		labels["env"] = "all"
	}
	_, ierr := m.h.Ingest(ctx, event.Event{
		Tag: TagPanic, Severity: event.Critical, Status: event.Firing, Title: head + " (platform: " + countText(r.Counts()) + ")", Text: report.Text,
		Labels: labels, Time: m.h.Clock().Now(), // no fingerprint: every press is its own alert
	})
	if ierr != nil {
		m.log.Error("panic event not stored", "err", ierr)
	}
	msg := "Panic posted to " + strings.Join(posted, ", ")
	if len(posted) == 0 {
		msg = "Panic could NOT be posted anywhere"
	}
	if len(failed) > 0 {
		msg += "; could NOT post to " + strings.Join(failed, ", ")
	}
	if ierr != nil {
		msg += "; the fleet.panic event could NOT be stored, so nobody was paged: page on-call yourself."
	} else {
		msg += "; the fleet.panic event is recorded (on-call is paged where alerts are set up)."
	}
	if len(failed) == 0 && ierr == nil {
		return c.Replyf(ctx, "%s", msg)
	}
	if _, err := c.Reply(ctx, chat.Post{Text: msg, Severity: chat.SeverityCritical}); err != nil {
		return err
	}
	return quiet(errors.New("the panic did not reach everyone"))
}

// resolveRoom reads a configured room: "adapter:ID" naming one of the bot's
// chats, else a room of the chat the command came from.
func (m *Module) resolveRoom(name string, from chat.Room) chat.Room {
	if adapter, id, ok := strings.Cut(name, ":"); ok {
		if _, known := m.h.Bot().Sender().Adapter(adapter); known {
			return chat.Room{Adapter: adapter, ID: id, Name: id}
		}
	}
	return chat.Room{Adapter: from.Adapter, ID: name, Name: name}
}

func roomName(r chat.Room) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// mentions resolves responders (opsbot users, "user:NAME" or "group:NAME")
// to their chat IDs on an adapter, and the names to show.
func (m *Module) mentions(ctx context.Context, adapter string, responders []string) (ids, names []string) {
	st := m.h.Store()
	for _, r := range responders {
		var users []store.User
		if g, ok := strings.CutPrefix(r, "group:"); ok {
			ms, err := st.Members(ctx, g)
			if err != nil {
				m.log.Warn("panic responders", "group", g, "err", err)
			}
			users = ms
		} else {
			u, err := st.UserByName(ctx, strings.TrimPrefix(r, "user:"))
			if err != nil {
				names = appendNew(names, strings.TrimPrefix(r, "user:"))
				continue
			}
			users = []store.User{u}
		}
		for _, u := range users {
			names = appendNew(names, u.Name)
			idents, err := st.IdentitiesOf(ctx, u.ID)
			if err != nil {
				continue
			}
			for _, id := range idents {
				if id.Adapter == adapter {
					ids = appendNew(ids, id.ChatID)
				}
			}
		}
	}
	return ids, names
}

func appendNew(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}
