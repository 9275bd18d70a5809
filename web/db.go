package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// The console's own tables (store/sqlstore/migrations/*/00030_web.sql):
// web_rooms, web_messages, web_sessions, web_login_failures. Statements use
// $N placeholders (both databases) and unix-millisecond times.

var roomName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

func validRoomName(s string) bool { return roomName.MatchString(s) }

// message is one stored chat message: a user's text or a bot's post.
type message struct {
	ID      int64
	Room    string
	Thread  int64 // the root message's ID, 0 for a root
	Author  string
	Bot     bool
	Post    chat.Post
	Created time.Time
	Edited  time.Time
}

// ensureRoom creates the room unless it exists (rooms are never deleted, so
// a room once seen is remembered and costs no write).
func (m *Module) ensureRoom(ctx context.Context, name string) error {
	if _, ok := m.rooms.Load(name); ok {
		return nil
	}
	_, err := m.st.DB().ExecContext(ctx, `INSERT INTO web_rooms (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, m.clk.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("create room %s: %w", name, err)
	}
	m.rooms.Store(name, struct{}{})
	return nil
}

func (m *Module) roomExists(ctx context.Context, name string) (bool, error) {
	var n int
	err := m.st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM web_rooms WHERE name = $1`, name).Scan(&n)
	return n > 0, err
}

func (m *Module) listRooms(ctx context.Context) ([]string, error) {
	rows, err := m.st.DB().QueryContext(ctx, `SELECT name FROM web_rooms ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (m *Module) insertMessage(ctx context.Context, msg *message) error {
	b, err := json.Marshal(msg.Post)
	if err != nil {
		return fmt.Errorf("encode post: %w", err)
	}
	err = m.st.DB().QueryRowContext(ctx, `INSERT INTO web_messages (room, thread, author, bot, post, created)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		msg.Room, msg.Thread, msg.Author, msg.Bot, string(b), msg.Created.UnixMilli()).Scan(&msg.ID)
	if err != nil {
		return fmt.Errorf("store message: %w", err)
	}
	return nil
}

func (m *Module) updateMessage(ctx context.Context, id int64, p chat.Post, at time.Time) (message, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return message{}, fmt.Errorf("encode post: %w", err)
	}
	res, err := m.st.DB().ExecContext(ctx, `UPDATE web_messages SET post = $1, edited = $2 WHERE id = $3`, string(b), at.UnixMilli(), id)
	if err != nil {
		return message{}, fmt.Errorf("update message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return message{}, fmt.Errorf("update message %d: %w", id, errNoMessage)
	}
	return m.messageByID(ctx, id)
}

var errNoMessage = errors.New("no such message")

const messageCols = `id, room, thread, author, bot, post, created, edited`

func scanMessage(sc interface{ Scan(...any) error }) (message, error) {
	var msg message
	var post string
	var created, edited int64
	if err := sc.Scan(&msg.ID, &msg.Room, &msg.Thread, &msg.Author, &msg.Bot, &post, &created, &edited); err != nil {
		return msg, err
	}
	if err := json.Unmarshal([]byte(post), &msg.Post); err != nil {
		return msg, fmt.Errorf("decode message %d: %w", msg.ID, err)
	}
	msg.Created = time.UnixMilli(created)
	if edited != 0 {
		msg.Edited = time.UnixMilli(edited)
	}
	return msg, nil
}

func (m *Module) messageByID(ctx context.Context, id int64) (message, error) {
	msg, err := scanMessage(m.st.DB().QueryRowContext(ctx, `SELECT `+messageCols+` FROM web_messages WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return msg, errNoMessage
	}
	return msg, err
}

// history returns up to limit messages of room, oldest first: the latest
// ones, or those before the ID before, or those after the ID after.
func (m *Module) history(ctx context.Context, room string, before, after int64, limit int) ([]message, error) {
	var rows *sql.Rows
	var err error
	switch {
	case after > 0:
		rows, err = m.st.DB().QueryContext(ctx, `SELECT `+messageCols+` FROM web_messages WHERE room = $1 AND id > $2 ORDER BY id LIMIT $3`, room, after, limit)
	case before > 0:
		rows, err = m.st.DB().QueryContext(ctx, `SELECT `+messageCols+` FROM web_messages WHERE room = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, room, before, limit)
	default:
		rows, err = m.st.DB().QueryContext(ctx, `SELECT `+messageCols+` FROM web_messages WHERE room = $1 ORDER BY id DESC LIMIT $2`, room, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []message
	for rows.Next() {
		msg, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if after == 0 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}
