package notify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/event"
)

// maxListed is how many alerts a group post names.
const maxListed = 10

func severityOf(s string, resolved bool) chat.Severity {
	if resolved {
		return chat.SeveritySuccess
	}
	switch event.Severity(s) {
	case event.Critical:
		return chat.SeverityCritical
	case event.Warning:
		return chat.SeverityWarning
	}
	return chat.SeverityInfo
}

// renderEvent is the post of one event on a route without grouping.
func renderEvent(e event.Event) chat.Post {
	title := e.Title
	if title == "" {
		title = e.Tag
	}
	var b strings.Builder
	if e.Status == event.Resolved {
		b.WriteString("*RESOLVED:* ")
	}
	b.WriteString("*" + title + "*")
	if e.Text != "" {
		b.WriteString("\n" + e.Text)
	}
	p := chat.Post{Text: b.String(), Severity: severityOf(string(e.Severity), e.Status == event.Resolved)}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.Fields = append(p.Fields, chat.Field{Name: k, Value: e.Fields[k], Short: len(e.Fields[k]) < 40})
	}
	for _, l := range e.Links {
		p.Links = append(p.Links, chat.Link{Title: l.Title, URL: l.URL})
	}
	return p
}

// groupName is how a group is named in its posts: its tag and labels.
func groupName(g *group) string {
	name := g.Tag
	if ls := plainLabels(g.Labels); ls != "" {
		name += " " + ls
	}
	return name
}

func plainLabels(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, " ")
}

// renderFiring is the post of a group with alerts firing.
func renderFiring(g *group) chat.Post {
	var firing []string
	worst := "info"
	resolved := 0
	for _, a := range g.Alerts {
		if !a.Firing {
			resolved++
			continue
		}
		firing = append(firing, a.Title)
		if rank(a.Severity) > rank(worst) {
			worst = a.Severity
		}
	}
	sort.Strings(firing)
	var b strings.Builder
	fmt.Fprintf(&b, "*[FIRING:%d] %s*", len(firing), groupName(g))
	if resolved > 0 {
		fmt.Fprintf(&b, " (%d resolved)", resolved)
	}
	for i, t := range firing {
		if i == maxListed {
			fmt.Fprintf(&b, "\n…and %d more", len(firing)-maxListed)
			break
		}
		b.WriteString("\n- " + t)
	}
	return chat.Post{Text: b.String(), Severity: severityOf(worst, false)}
}

func rank(s string) int {
	switch event.Severity(s) {
	case event.Critical:
		return 2
	case event.Warning:
		return 1
	}
	return 0
}

// renderResolved is the post of a group that cleared.
func renderResolved(g *group) chat.Post {
	return chat.Post{Text: fmt.Sprintf("*[RESOLVED] %s*: all %d cleared", groupName(g), len(g.Alerts)), Severity: chat.SeveritySuccess}
}

// renderThrottled tells how many posts a throttle held back.
func renderThrottled(route string, n int) chat.Post {
	s := "s were"
	if n == 1 {
		s = " was"
	}
	return chat.Post{Text: fmt.Sprintf("_%d more message%s held back by the throttle of route %s._", n, s, route)}
}
