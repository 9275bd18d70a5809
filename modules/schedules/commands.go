package schedules

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/schedule"
)

func (m *Module) commands(h *bot.Host) error {
	specs := []command.Spec{
		{
			Name: "remind", Grammar: "remind {target} {rest...}",
			Help:       `remind me or a room: remind (me|#room) (in 2h|at 2026-12-01 09:30|every weekday at 9:30|every 15m|cron "0 9 * * 1-5") TEXT`,
			Permission: "schedules:remind", SideEffects: true, Run: m.remind,
		},
		{Name: "schedules", Grammar: "schedules", Help: "list the schedules with their next firing", Run: m.list},
		{
			Name: "schedule", Grammar: "schedule {op:enum(pause|resume|delete)} {id}",
			Help: "pause, resume or delete a schedule", Permission: "schedules:manage", SideEffects: true, Run: m.manage,
		},
	}
	for _, s := range specs {
		if err := h.Command(s); err != nil {
			return fmt.Errorf("schedules: %w", err)
		}
	}
	return nil
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// SplitWhen splits "in 2h check the backups" into the when-expression and
// the text, for the forms chat accepts.
func SplitWhen(rest string) (when, text string, err error) {
	rest = strings.TrimSpace(rest)
	f := strings.Fields(rest)
	take := func(n int) (string, string, error) {
		if len(f) <= n {
			return "", "", errors.New("say what to remind of after the time")
		}
		return strings.Join(f[:n], " "), strings.Join(f[n:], " "), nil
	}
	if len(f) < 2 {
		return "", "", errors.New("say when: in 2h, at 2026-12-01 09:30, every weekday at 9:30, every 15m or cron \"0 9 * * 1-5\"")
	}
	switch strings.ToLower(f[0]) {
	case "in":
		return take(2)
	case "at":
		if datePattern.MatchString(f[1]) && len(f) > 2 {
			return take(3)
		}
		return take(2)
	case "every":
		for i := 2; i < len(f)-1; i++ {
			if strings.EqualFold(f[i], "at") {
				return take(i + 2)
			}
		}
		return take(2)
	case "cron":
		after := strings.TrimSpace(rest[len(f[0]):])
		if q := after[0]; q == '"' || q == '\'' {
			if end := strings.IndexByte(after[1:], q); end >= 0 {
				t := strings.TrimSpace(after[end+2:])
				if t == "" {
					return "", "", errors.New("say what to remind of after the time")
				}
				return "cron " + after[:end+2], t, nil
			}
		}
		return "", "", errors.New(`quote the cron expression: cron "0 9 * * 1-5"`)
	}
	return "", "", errors.New("say when: in 2h, at 2026-12-01 09:30, every weekday at 9:30, every 15m or cron \"0 9 * * 1-5\"")
}

func (m *Module) remind(ctx context.Context, c *command.Call) error {
	target := c.Args["target"]
	when, text, err := SplitWhen(c.Args["rest"])
	if err != nil {
		return c.Replyf(ctx, "%s. Usage: `remind (me|#room) WHEN TEXT`", err.Error())
	}
	_, tz, err := m.location("")
	if err != nil {
		return err
	}
	room := c.Msg.Room
	var body string
	switch {
	case strings.EqualFold(target, "me"):
		body = fmt.Sprintf("Reminder for %s: %s", c.User.Name, text)
	case strings.HasPrefix(target, "#") && len(target) > 1:
		room = chat.Room{Adapter: c.Msg.Room.Adapter, ID: target, Name: target}
		body = fmt.Sprintf("Reminder from %s: %s", c.User.Name, text)
	default:
		return c.Replyf(ctx, "Remind whom? Say `remind me …` or `remind #room …`, not %q.", target)
	}
	id := "r-" + randomID()
	a, _ := json.Marshal(action{Type: "post", Room: &room, Text: body})
	e, err := m.sched.Put(ctx, schedule.Entry{ID: id, Owner: OwnerChat, When: when, Timezone: tz, Action: string(a),
		Note: "post to " + roomName(room) + ": " + text, CreatedBy: c.User.Name})
	if err != nil {
		if errors.Is(err, schedule.ErrSyntax) {
			return c.Replyf(ctx, "I can't read the time: %s", strings.TrimPrefix(err.Error(), schedule.ErrSyntax.Error()+": "))
		}
		return err
	}
	loc, _, _ := m.location("")
	next := "never"
	if !e.NextFire.IsZero() {
		next = e.NextFire.In(loc).Format("Mon 2006-01-02 15:04 MST")
	}
	return c.Replyf(ctx, "OK, schedule `%s` (%s): next at %s. `schedule delete %s` cancels it.", id, when, next, id)
}

func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func roomName(r chat.Room) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

func (m *Module) list(ctx context.Context, c *command.Call) error {
	es, err := m.sched.List(ctx)
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return c.Replyf(ctx, "No schedules. `remind me in 2h TEXT` makes one; config has `schedules.tasks`.")
	}
	loc, _, _ := m.location("")
	var b strings.Builder
	fmt.Fprintf(&b, "%d schedule(s):\n", len(es))
	for _, e := range es {
		next := "—"
		switch {
		case e.Paused:
			next = "paused"
		case !e.NextFire.IsZero():
			next = e.NextFire.In(loc).Format("Mon 01-02 15:04 MST")
		}
		fmt.Fprintf(&b, "- `%s` %s (%s) — next: %s — %s", e.ID, e.When, e.Timezone, next, e.Note)
		if e.Missed > 0 {
			fmt.Fprintf(&b, " — missed %d", e.Missed)
		}
		b.WriteString("\n")
	}
	_, err = c.Reply(ctx, chat.Post{Text: strings.TrimRight(b.String(), "\n")})
	return err
}

func (m *Module) manage(ctx context.Context, c *command.Call) error {
	id, op := c.Args["id"], c.Args["op"]
	var err error
	switch op {
	case "pause":
		err = m.sched.SetPaused(ctx, id, true)
	case "resume":
		err = m.sched.SetPaused(ctx, id, false)
	case "delete":
		var e schedule.Entry
		if e, err = m.sched.Get(ctx, id); err == nil && e.Owner == OwnerConfig {
			return c.Replyf(ctx, "`%s` comes from the config: remove it there (or pause it here).", id)
		}
		if err == nil {
			err = m.sched.Delete(ctx, id)
		}
	}
	if errors.Is(err, schedule.ErrNotFound) {
		return c.Replyf(ctx, "There is no schedule `%s`. `schedules` lists them.", id)
	}
	if err != nil {
		return err
	}
	past := map[string]string{"pause": "paused", "resume": "resumed", "delete": "deleted"}[op]
	return c.Replyf(ctx, "Schedule `%s` %s.", id, past)
}

// api serves GET /api/v1/schedules: ?owner= filters, ?limit= (default
// 100, at most 1000) and ?offset= page.
func (m *Module) api() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, offset := 100, 0
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: a number from 1 to 1000"})
				return
			}
			limit = n
		}
		if v := q.Get("offset"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "offset: a number from 0"})
				return
			}
			offset = n
		}
		es, err := m.sched.List(r.Context())
		if err != nil {
			m.log.Error("list schedules", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not list the schedules"})
			return
		}
		out := []apiSchedule{}
		total := 0
		for _, e := range es {
			if o := q.Get("owner"); o != "" && e.Owner != o {
				continue
			}
			total++
			if total <= offset || len(out) >= limit {
				continue
			}
			out = append(out, toAPI(e))
		}
		writeJSON(w, http.StatusOK, map[string]any{"schedules": out, "total": total, "limit": limit, "offset": offset})
	})
}

// apiSchedule is a schedule in the API (the action's details stay inside).
type apiSchedule struct {
	ID        string     `json:"id"`
	Owner     string     `json:"owner"`
	When      string     `json:"when"`
	Timezone  string     `json:"timezone"`
	Note      string     `json:"note"`
	CreatedBy string     `json:"created_by"`
	Paused    bool       `json:"paused"`
	LastFire  *time.Time `json:"last_fire"`
	NextFire  *time.Time `json:"next_fire"`
	Missed    int64      `json:"missed"`
}

func toAPI(e schedule.Entry) apiSchedule {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return apiSchedule{ID: e.ID, Owner: e.Owner, When: e.When, Timezone: e.Timezone, Note: e.Note, CreatedBy: e.CreatedBy,
		Paused: e.Paused, LastFire: opt(e.LastFire), NextFire: opt(e.NextFire), Missed: e.Missed}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
