package monitors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/graph"
	"github.com/opsbot/opsbot/monitor"
)

func (m *Module) commands(h *bot.Host) error {
	if err := h.Type(command.EnumFunc("monitor", func(context.Context) ([]string, error) {
		var names []string
		for _, c := range m.runner.Checks() {
			names = append(names, c.Name)
		}
		return names, nil
	})); err != nil {
		return err
	}
	for _, s := range []command.Spec{
		{Name: "monitors", Grammar: "monitors", Help: "the monitors and their state", Run: m.list},
		{Name: "silence", Grammar: "silence {monitor:monitor} for {d:duration}", Help: "stop a monitor's alerts for a while",
			Permission: "monitors:silence", SideEffects: true, Run: m.silence},
		{Name: "unsilence", Grammar: "unsilence {monitor:monitor}", Help: "end a monitor's silence",
			Permission: "monitors:silence", SideEffects: true, Run: m.unsilence},
		{Name: "graph", Grammar: "graph {expr...}", Help: "a chart of a Prometheus or Graphite expression: graph EXPR [for 6h] [on SOURCE]", Run: m.graph},
		{Name: "query", Grammar: "query {expr...}", Help: "the current values of an expression: query EXPR [on SOURCE]", Run: m.query},
	} {
		if err := h.Command(s); err != nil {
			return fmt.Errorf("monitors: %w", err)
		}
	}
	return nil
}

func (m *Module) list(ctx context.Context, c *command.Call) error {
	ss, err := m.runner.Statuses(ctx)
	if err != nil {
		return err
	}
	if len(ss) == 0 {
		return c.Replyf(ctx, "No monitors are configured (`monitors.checks` in the config).")
	}
	var b strings.Builder
	firing := 0
	for _, s := range ss {
		if s.State == monitor.StateFiring {
			firing++
		}
	}
	fmt.Fprintf(&b, "%d monitor(s), %d firing:\n", len(ss), firing)
	for _, s := range ss {
		fmt.Fprintf(&b, "- `%s` %s", s.Name, strings.ToUpper(s.State))
		if !s.Since.IsZero() && s.State != "unknown" {
			fmt.Fprintf(&b, " since %s", s.Since.Format("01-02 15:04 MST"))
		}
		if s.Value != nil {
			fmt.Fprintf(&b, " — value %s", strconv.FormatFloat(*s.Value, 'g', 6, 64))
		}
		if s.Reason != "" {
			fmt.Fprintf(&b, " — %s", s.Reason)
		}
		if s.Kind == "heartbeat" && !s.LastData.IsZero() {
			fmt.Fprintf(&b, " — last seen %s", s.LastData.Format("01-02 15:04 MST"))
		}
		fmt.Fprintf(&b, " (%s: %s, every %s)", s.Kind, s.Condition, s.Every)
		if s.SourceDown {
			fmt.Fprintf(&b, " — source %s unreachable", s.Source)
		}
		if !s.SilencedUntil.IsZero() {
			fmt.Fprintf(&b, " — silenced until %s by %s", s.SilencedUntil.Format("01-02 15:04 MST"), s.SilencedBy)
		}
		b.WriteString("\n")
	}
	_, err = c.Reply(ctx, chat.Post{Text: strings.TrimRight(b.String(), "\n")})
	return err
}

func (m *Module) silence(ctx context.Context, c *command.Call) error {
	d := c.Args.Duration("d")
	if d <= 0 {
		return c.Replyf(ctx, "Silence for how long? `silence %s for 1h`", c.Args["monitor"])
	}
	until := m.h.Clock().Now().Add(d)
	if err := m.runner.Silence(ctx, c.Args["monitor"], until, c.User.Name); err != nil {
		return err
	}
	return c.Replyf(ctx, "`%s` is silenced until %s: its firing alerts are held (a resolved one still goes out).", c.Args["monitor"], until.Format("2006-01-02 15:04 MST"))
}

func (m *Module) unsilence(ctx context.Context, c *command.Call) error {
	if err := m.runner.Silence(ctx, c.Args["monitor"], time.Time{}, ""); err != nil {
		return err
	}
	return c.Replyf(ctx, "`%s` is no longer silenced.", c.Args["monitor"])
}

var (
	forTail = regexp.MustCompile(`(?i)\s+for\s+(\S+)\s*$`)
	onTail  = regexp.MustCompile(`(?i)\s+on\s+([a-z0-9_.-]+)\s*$`)
)

// splitExpr takes "EXPR [for 6h] [on SOURCE]" (the tails in either order).
func splitExpr(s string) (expr, source string, span time.Duration, err error) {
	expr = strings.TrimSpace(s)
	for i := 0; i < 2; i++ {
		if mm := onTail.FindStringSubmatchIndex(expr); mm != nil && source == "" {
			source = expr[mm[2]:mm[3]]
			expr = strings.TrimSpace(expr[:mm[0]])
			continue
		}
		if mm := forTail.FindStringSubmatchIndex(expr); mm != nil && span == 0 {
			d, derr := clock.ParseDuration(expr[mm[2]:mm[3]])
			if derr != nil || d <= 0 {
				return "", "", 0, fmt.Errorf("%q is not a duration (for 6h, for 30m, for 2d)", expr[mm[2]:mm[3]])
			}
			span = d
			expr = strings.TrimSpace(expr[:mm[0]])
		}
	}
	if expr == "" {
		return "", "", 0, errors.New("give an expression")
	}
	return expr, source, span, nil
}

func (m *Module) graph(ctx context.Context, c *command.Call) error {
	expr, source, span, err := splitExpr(c.Args["expr"])
	if err != nil {
		return c.Replyf(ctx, "%s. Usage: `graph EXPR [for 6h] [on SOURCE]`", err.Error())
	}
	if span == 0 {
		span = time.Hour
	}
	src, srcName, err := m.runner.Source(source)
	if err != nil {
		return c.Replyf(ctx, "%s", err.Error())
	}
	to := m.h.Clock().Now()
	from := to.Add(-span)
	step := span / 300
	if step < time.Second {
		step = time.Second
	}
	series, err := src.QueryRange(ctx, expr, from, to, step)
	if err != nil {
		return c.Replyf(ctx, "`%s` on %s: %s", expr, srcName, err.Error())
	}
	gs := make([]graph.Series, 0, len(series))
	for _, s := range series {
		g := graph.Series{Name: s.Name}
		for _, p := range s.Points {
			g.Points = append(g.Points, graph.Point{T: p.T, V: p.V})
		}
		gs = append(gs, g)
	}
	png, _, err := graph.Render(gs, graph.Options{Title: fmt.Sprintf("%s (%s, last %s)", expr, srcName, monitor.FormatDuration(span)), From: from, To: to})
	if errors.Is(err, graph.ErrNoData) {
		return c.Replyf(ctx, "`%s` on %s has no data in the last %s.", expr, srcName, monitor.FormatDuration(span))
	}
	if err != nil {
		return err
	}
	caption := fmt.Sprintf("`%s` on %s, last %s (%d series)", expr, srcName, monitor.FormatDuration(span), len(gs))
	if up, ok := m.uploader(c.Msg.Room); ok {
		if _, err := up.Upload(ctx, c.Msg.Room, "graph.png", png); err == nil {
			return c.Replyf(ctx, "%s", caption)
		}
		m.log.Warn("graph upload failed; posting a link", "room", c.Msg.Room.String(), "err", err)
	}
	id := m.graphs.put(png)
	url := strings.TrimSuffix(m.cfg.ConsoleURL, "/") + "/graphs/" + id + ".png"
	_, err = c.Reply(ctx, chat.Post{Text: caption, Image: &chat.Image{URL: url, Alt: "graph of " + expr}, Links: []chat.Link{{Title: "graph", URL: url}}})
	return err
}

// uploader is the room's adapter when it can take a file.
func (m *Module) uploader(room chat.Room) (chat.Uploader, bool) {
	a, ok := m.h.Bot().Sender().Adapter(room.Adapter)
	if !ok {
		return nil, false
	}
	u, ok := a.(chat.Uploader)
	return u, ok
}

// MaxQueryRows caps the rows `query` shows.
const MaxQueryRows = 20

func (m *Module) query(ctx context.Context, c *command.Call) error {
	expr, source, _, err := splitExpr(c.Args["expr"])
	if err != nil {
		return c.Replyf(ctx, "%s. Usage: `query EXPR [on SOURCE]`", err.Error())
	}
	src, srcName, err := m.runner.Source(source)
	if err != nil {
		return c.Replyf(ctx, "%s", err.Error())
	}
	ss, err := src.Query(ctx, expr)
	if err != nil {
		return c.Replyf(ctx, "`%s` on %s: %s", expr, srcName, err.Error())
	}
	if len(ss) == 0 {
		return c.Replyf(ctx, "`%s` on %s: no data.", expr, srcName)
	}
	sort.Slice(ss, func(i, j int) bool { return monitor.SeriesName(ss[i].Labels) < monitor.SeriesName(ss[j].Labels) })
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` on %s:\n```\n", expr, srcName)
	width := 0
	for i, s := range ss {
		if i == MaxQueryRows {
			break
		}
		if n := len(monitor.SeriesName(s.Labels)); n > width {
			width = n
		}
	}
	for i, s := range ss {
		if i == MaxQueryRows {
			fmt.Fprintf(&b, "… and %d more\n", len(ss)-MaxQueryRows)
			break
		}
		fmt.Fprintf(&b, "%-*s  %s\n", width, monitor.SeriesName(s.Labels), strconv.FormatFloat(s.Value, 'g', 8, 64))
	}
	b.WriteString("```")
	_, err = c.Reply(ctx, chat.Post{Text: b.String()})
	return err
}

// api serves GET /api/v1/monitors; ?state=firing filters.
func (m *Module) api() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		state := r.URL.Query().Get("state")
		switch state {
		case "", "ok", "pending", "firing", "unknown":
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "state: one of ok, pending, firing, unknown"})
			return
		}
		ss, err := m.runner.Statuses(r.Context())
		if err != nil {
			m.log.Error("list monitors", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read the monitors' state"})
			return
		}
		out := []monitor.Status{}
		for _, s := range ss {
			if state == "" || s.State == state {
				out = append(out, s)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"monitors": out, "total": len(out)})
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// graphCache keeps rendered graphs for a while, for chats that show an
// image from its URL. IDs are 128-bit random: the URL is the capability.
type graphCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	items map[string]cached
	order []string
}

type cached struct {
	png []byte
	at  time.Time
}

func newGraphCache(max int, ttl time.Duration) *graphCache {
	return &graphCache{max: max, ttl: ttl, items: map[string]cached{}}
}

func (g *graphCache) put(png []byte) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.items[id] = cached{png: png, at: time.Now()}
	g.order = append(g.order, id)
	for len(g.order) > g.max {
		delete(g.items, g.order[0])
		g.order = g.order[1:]
	}
	return id
}

// ServeHTTP serves GET /graphs/{id}.png.
func (g *graphCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(r.PathValue("id"), ".png")
	g.mu.Lock()
	it, ok := g.items[id]
	g.mu.Unlock()
	if !ok || time.Since(it.at) > g.ttl {
		http.Error(w, "no such graph (graphs are kept for an hour)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(it.png)
}
