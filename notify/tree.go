package notify

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
)

// Node is a compiled route: its own matchers, and the settings it has after
// inheriting from its parents.
type Node struct {
	ID       string // Route.Name, or its position ("root/0/1")
	Continue bool

	match   map[string]string
	matchRE map[string]*regexp.Regexp

	Rooms          []RoomSpec
	GroupBy        []string // empty: every event is posted at once
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
	Throttle       time.Duration
	Mention        []string
	Run, As        string

	mute     []window
	children []*Node
}

// Tree is the compiled route tree.
type Tree struct {
	Root *Node
	byID map[string]*Node
}

// Compile builds the tree from a validated config.
func Compile(c Config) (*Tree, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	root := &Node{GroupWait: DefaultGroupWait, GroupInterval: DefaultGroupInterval, RepeatInterval: DefaultRepeatInterval}
	t := &Tree{byID: map[string]*Node{}}
	t.Root = t.compile(c.Route, root, "root")
	return t, nil
}

func (t *Tree) compile(r Route, parent *Node, id string) *Node {
	if r.Name != "" {
		id = r.Name
	}
	n := &Node{ID: id, Continue: r.Continue, match: map[string]string{}, matchRE: map[string]*regexp.Regexp{},
		Rooms: parent.Rooms, GroupBy: parent.GroupBy, GroupWait: parent.GroupWait, GroupInterval: parent.GroupInterval,
		RepeatInterval: parent.RepeatInterval, Throttle: parent.Throttle, Mention: parent.Mention, mute: parent.mute,
		Run: r.Run, As: r.As}
	for k, v := range r.Match {
		n.match[k] = v
	}
	for k, v := range r.MatchRE {
		n.matchRE[k] = regexp.MustCompile("^(?:" + v + ")$")
	}
	if len(r.Rooms) > 0 {
		n.Rooms = nil
		for _, s := range r.Rooms {
			rs, _ := ParseRoom(s)
			n.Rooms = append(n.Rooms, rs)
		}
	}
	if r.GroupBy != nil {
		n.GroupBy = *r.GroupBy
	}
	set := func(dst *time.Duration, src *time.Duration) {
		if src != nil {
			*dst = *src
		}
	}
	set(&n.GroupWait, r.GroupWait)
	set(&n.GroupInterval, r.GroupInterval)
	set(&n.RepeatInterval, r.RepeatInterval)
	set(&n.Throttle, r.Throttle)
	if len(r.Mention) > 0 {
		n.Mention = r.Mention
	}
	if len(r.MuteWhen) > 0 {
		n.mute = nil
		for _, w := range r.MuteWhen {
			cw, _ := w.compile()
			n.mute = append(n.mute, cw)
		}
	}
	t.byID[n.ID] = n
	for i, c := range r.Routes {
		n.children = append(n.children, t.compile(c, n, fmt.Sprintf("%s/%d", id, i)))
	}
	return n
}

// Node returns the route with id.
func (t *Tree) Node(id string) (*Node, bool) {
	n, ok := t.byID[id]
	return n, ok
}

// Match returns the routes an event goes to, as Alertmanager does: a route
// that matches tries its children in order; the first child that matches
// takes the event, unless it has continue, in which case the next siblings
// are tried too; a route none of whose children match takes the event itself.
func (t *Tree) Match(e event.Event) []*Node { return t.Root.match1(e) }

func (n *Node) match1(e event.Event) []*Node {
	if !n.Matches(e) {
		return nil
	}
	var all []*Node
	for _, c := range n.children {
		m := c.match1(e)
		all = append(all, m...)
		if m != nil && !c.Continue {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, n)
	}
	return all
}

// Matches reports whether the route's own matchers accept e.
func (n *Node) Matches(e event.Event) bool {
	for k, want := range n.match {
		got, _ := field(e, k)
		switch k {
		case "tag":
			if !event.Match(want, e.Tag) {
				return false
			}
		case "severity", "status":
			if !strings.EqualFold(got, want) {
				return false
			}
		default:
			if got != want {
				return false
			}
		}
	}
	for k, re := range n.matchRE {
		got, _ := field(e, k)
		if !re.MatchString(got) {
			return false
		}
	}
	return true
}

// field is an event's field or label by matcher key.
func field(e event.Event, k string) (string, bool) {
	switch k {
	case "tag":
		return e.Tag, true
	case "severity":
		return string(e.Severity), true
	case "status":
		return string(e.Status), true
	case "source":
		return e.Source, true
	}
	v, ok := e.Labels[k]
	return v, ok
}

// Muted reports whether the route is muted at local time t.
func (n *Node) Muted(t time.Time) bool {
	for _, w := range n.mute {
		if w.contains(t) {
			return true
		}
	}
	return false
}

// Grouped reports whether the route aggregates events.
func (n *Node) Grouped() bool { return len(n.GroupBy) > 0 }

// GroupLabels are the values an event is grouped by on this route.
func (n *Node) GroupLabels(e event.Event) map[string]string {
	out := map[string]string{}
	if len(n.GroupBy) == 1 && n.GroupBy[0] == "..." {
		for k, v := range e.Labels {
			out[k] = v
		}
		return out
	}
	for _, k := range n.GroupBy {
		if v, ok := field(e, k); ok && v != "" {
			out[k] = v
		}
	}
	return out
}

// labelString is a stable "k=v,k=v" of labels.
func labelString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, l[k])
	}
	return b.String()
}

// Walk calls fn for every route, depth first.
func (t *Tree) Walk(fn func(n *Node, depth int)) { walk(t.Root, 0, fn) }

func walk(n *Node, d int, fn func(*Node, int)) {
	fn(n, d)
	for _, c := range n.children {
		walk(c, d+1, fn)
	}
}
