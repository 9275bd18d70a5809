package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
)

// Plan is what would happen to an event on one route: `opsbot routes test`.
type Plan struct {
	Route    *Node
	Rooms    []string // as configured, or the event's own room
	Grouping string   // how posts are grouped and timed
	Muted    bool     // a mute window is open at the time asked
	Mentions []string // names mentioned (users, groups, from labels)
	Run      string   // the action's command, expanded ("" when none)
	RunErr   error    // why the action would not run
}

// Plan tells where e would go and what it would run, at local time now.
func (t *Tree) Plan(e event.Event, now time.Time) []Plan {
	var out []Plan
	for _, n := range t.Match(e) {
		p := Plan{Route: n, Muted: n.Muted(now)}
		for _, r := range n.Rooms {
			p.Rooms = append(p.Rooms, r.String())
		}
		if e.Room != "" {
			p.Rooms = []string{e.Room}
		}
		switch {
		case n.Grouped():
			p.Grouping = fmt.Sprintf("grouped by %s (group_wait %s, group_interval %s, repeat_interval %s)",
				strings.Join(n.GroupBy, ", "), n.GroupWait, n.GroupInterval, n.RepeatInterval)
		case e.Fingerprint != "":
			p.Grouping = fmt.Sprintf("posted at once; fingerprint %q posted again only after %s", e.Fingerprint, n.RepeatInterval)
		default:
			p.Grouping = "posted at once"
		}
		if n.Throttle > 0 {
			p.Grouping += fmt.Sprintf("; throttled to one post per %s", n.Throttle)
		}
		d := &Dispatcher{}
		p.Mentions = append(staticMentions(n), d.labelMentions(n, e.Labels)...)
		if n.Run != "" && e.Status != event.Resolved {
			p.Run, p.RunErr = expandRun(n.Run, e)
		}
		out = append(out, p)
	}
	return out
}
