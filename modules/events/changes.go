package events

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/event"
)

// Limits of `changes`.
const (
	changesLines = 20   // lines shown
	changesScan  = 5000 // events read at most
)

// changes lists what happened lately, newest first; identical events in a
// row (same tag, title, severity and status) make one line with a count.
func (m *Module) changes(ctx context.Context, c *command.Call) error {
	since := c.Args.Duration("since")
	service := strings.ToLower(c.Args.String("service"))
	now := m.clock.Now()
	type line struct {
		e     event.Stored
		count int
		last  time.Time // the oldest of the run
	}
	var lines []line
	more, scanned := false, 0
	f := event.Filter{Since: now.Add(-since), Limit: 500}
scan:
	for scanned < changesScan {
		page, err := m.log.Query(ctx, f)
		if err != nil {
			return fmt.Errorf("changes: %w", err)
		}
		for _, s := range page {
			scanned++
			if service != "" && !about(s.Event, service) {
				continue
			}
			if n := len(lines); n > 0 && same(lines[n-1].e.Event, s.Event) {
				lines[n-1].count++
				lines[n-1].last = s.Time
				continue
			}
			if len(lines) == changesLines {
				more = true
				break scan
			}
			lines = append(lines, line{e: s, count: 1, last: s.Time})
		}
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].Seq
		more = scanned >= changesScan
	}
	what := ""
	if service != "" {
		what = " about " + service
	}
	span := formatAge(since)
	if len(lines) == 0 {
		return c.Replyf(ctx, "Nothing happened%s in the last %s.", what, span)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "What happened%s in the last %s, newest first:", what, span)
	for _, l := range lines {
		e := l.e.Event
		fmt.Fprintf(&b, "\n- %s ago `%s`", formatAge(now.Sub(e.Time)), e.Tag)
		var marks []string
		if e.Severity != event.Info {
			marks = append(marks, string(e.Severity))
		}
		if e.Status == event.Resolved {
			marks = append(marks, "resolved")
		}
		if len(marks) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(marks, ", "))
		}
		b.WriteString(" " + e.Title)
		if l.count > 1 {
			fmt.Fprintf(&b, " ×%d (since %s ago)", l.count, formatAge(now.Sub(l.last)))
		}
		var from []string
		if s := e.Labels["service"]; s != "" {
			from = append(from, s)
		}
		if e.Source != "" {
			from = append(from, e.Source)
		}
		if len(from) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(from, ", "))
		}
	}
	if more {
		b.WriteString("\n… and more: narrow it, e.g. `changes since 30m")
		if service == "" {
			b.WriteString(" SERVICE")
		}
		b.WriteString("`")
	}
	_, err := c.Reply(ctx, chat.Post{Text: b.String()})
	return err
}

// about reports whether an event concerns service: its `service` label, or
// a word of its tag.
func about(e event.Event, service string) bool {
	if strings.EqualFold(e.Labels["service"], service) {
		return true
	}
	for w := range strings.SplitSeq(e.Tag, ".") {
		if w == service {
			return true
		}
	}
	return false
}

func same(a, b event.Event) bool {
	return a.Tag == b.Tag && a.Title == b.Title && a.Severity == b.Severity && a.Status == b.Status &&
		a.Labels["service"] == b.Labels["service"]
}

// formatAge is a duration in its two largest units: "45s", "12m", "1h5m", "2d3h".
func formatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}
