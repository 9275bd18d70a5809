package status

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/notify"
	"github.com/opsbot/opsbot/statuspage"
)

// announce posts a change to the configured room (unless the change was
// made there) and returns the text for the asker.
func (m *Module) announce(ctx context.Context, c *command.Call, text string) {
	if m.cfg.Room == "" {
		return
	}
	spec, err := notify.ParseRoom(m.cfg.Room)
	if err != nil {
		m.log.Warn("statuspage: bad room", "room", m.cfg.Room, "err", err)
		return
	}
	room := spec.Room(c.Msg.Room.Adapter)
	if room.Adapter == c.Msg.Room.Adapter && (room.ID == c.Msg.Room.ID || room.ID == c.Msg.Room.Name) {
		return
	}
	if _, err := c.PostTo(ctx, room, chat.Post{Text: text}); err != nil {
		m.log.Warn("statuspage: announce failed", "room", m.cfg.Room, "err", err)
	}
}

// mirrorNote turns a mirror failure into a line for the reply; other
// errors are returned.
func mirrorNote(err error) (string, error) {
	var me *statuspage.MirrorError
	if errors.As(err, &me) {
		return "\n⚠ " + me.Error(), nil
	}
	return "", err
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never changed"
	}
	d := now.Sub(t).Round(time.Minute)
	if d < time.Minute {
		return "just now"
	}
	return strings.TrimSuffix(d.String(), "0s") + " ago"
}

func (m *Module) overview(ctx context.Context, c *command.Call) error {
	sum, err := m.svc.Summary(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**", sum.Description())
	if len(sum.Components) == 0 {
		b.WriteString("\nNo components are configured (statuspage.components).")
	}
	for _, comp := range sum.Components {
		fmt.Fprintf(&b, "\n• %s: %s", comp.Name, comp.State.Label())
		if comp.State != statuspage.Operational && !comp.Updated.IsZero() {
			fmt.Fprintf(&b, " (since %s, by %s)", ago(sum.Now, comp.Updated), comp.UpdatedBy)
		}
	}
	for _, inc := range sum.Open {
		fmt.Fprintf(&b, "\nIncident #%d %s — %s", inc.ID, inc.Name, inc.Status)
	}
	sev := chat.SeverityInfo
	if sum.Overall != statuspage.Operational {
		sev = chat.SeverityWarning
	}
	_, err = c.Reply(ctx, chat.Post{Text: b.String(), Severity: sev})
	return err
}

func (m *Module) incidents(ctx context.Context, c *command.Call) error {
	incs, err := m.svc.Store().Incidents(ctx, statuspage.Filter{OpenOnly: true})
	if err != nil {
		return err
	}
	if len(incs) == 0 {
		return c.Replyf(ctx, "No open incidents.")
	}
	now := m.clock.Now()
	var b strings.Builder
	for i, inc := range incs {
		if i > 0 {
			b.WriteByte('\n')
		}
		last := inc.Updates[len(inc.Updates)-1]
		fmt.Fprintf(&b, "#%d %s — %s, opened %s; latest: %s", inc.ID, inc.Name, inc.Status, ago(now, inc.Created), last.Body)
	}
	return c.Replyf(ctx, "%s", b.String())
}

func (m *Module) open(ctx context.Context, c *command.Call) error {
	st, err := statuspage.ParseStatus(c.Args["status"])
	if err != nil {
		return err
	}
	name, body, ok := strings.Cut(c.Args["text"], ":")
	name, body = strings.TrimSpace(name), strings.TrimSpace(body)
	if !ok || name == "" || body == "" {
		return c.Replyf(ctx, "Say `status open %s NAME: MESSAGE` — the incident's name, a colon, then what the public should read.", st)
	}
	return m.openIncident(ctx, c, st, name, body)
}

func (m *Module) openIncident(ctx context.Context, c *command.Call, st statuspage.Status, name, body string) error {
	inc, err := m.svc.Open(ctx, st, name, body, c.User.Name)
	note, err := mirrorNote(err)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("Incident #%d opened: **%s** — %s: %s", inc.ID, inc.Name, inc.Status, body)
	if len(inc.Components) > 0 {
		text += "\nAffects " + strings.Join(inc.Components, ", ")
	}
	m.announce(ctx, c, text+" (by "+c.User.Name+")")
	return c.Replyf(ctx, "%s%s", text, note)
}

// incidentRef reads a leading "#12" from text.
func incidentRef(text string) (int64, string, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "#") {
		return 0, text, nil
	}
	word, rest, _ := strings.Cut(text, " ")
	id, err := strconv.ParseInt(word[1:], 10, 64)
	if err != nil || id <= 0 {
		return 0, text, fmt.Errorf("%q is not an incident number (#12)", word)
	}
	return id, strings.TrimSpace(rest), nil
}

func (m *Module) update(ctx context.Context, c *command.Call) error {
	id, rest, err := incidentRef(c.Args["text"])
	if err != nil {
		return err
	}
	var st statuspage.Status
	if word, after, _ := strings.Cut(rest, " "); word != "" {
		if s, err := statuspage.ParseStatus(word); err == nil {
			st, rest = s, strings.TrimSpace(after)
		}
	}
	if rest == "" {
		return c.Replyf(ctx, "Say `status update [#ID] [investigating|identified|monitoring|resolved] MESSAGE`.")
	}
	return m.addUpdate(ctx, c, id, st, rest)
}

func (m *Module) resolve(ctx context.Context, c *command.Call) error {
	id, rest, err := incidentRef(c.Args["text"])
	if err != nil {
		return err
	}
	return m.addUpdate(ctx, c, id, statuspage.Resolved, rest)
}

func (m *Module) addUpdate(ctx context.Context, c *command.Call, id int64, st statuspage.Status, body string) error {
	var inc statuspage.Incident
	var err error
	if st == statuspage.Resolved {
		inc, err = m.svc.Resolve(ctx, id, body, c.User.Name)
	} else {
		inc, err = m.svc.Update(ctx, id, st, body, c.User.Name)
	}
	if errors.Is(err, statuspage.ErrNoOpenIncident) {
		return c.Replyf(ctx, "No incident is open. Open one with `status open investigating NAME: MESSAGE`.")
	}
	if errors.Is(err, statuspage.ErrNotFound) {
		return c.Replyf(ctx, "There is no incident #%d.", id)
	}
	note, err := mirrorNote(err)
	if err != nil {
		return err
	}
	last := inc.Updates[len(inc.Updates)-1]
	text := fmt.Sprintf("Incident #%d **%s** — %s: %s", inc.ID, inc.Name, inc.Status, last.Body)
	if inc.Status == statuspage.Resolved {
		comps, err := m.svc.Components(ctx)
		if err != nil {
			return err
		}
		var still []string
		for _, comp := range comps {
			if comp.State != statuspage.Operational {
				still = append(still, comp.Name+" ("+comp.State.Label()+")")
			}
		}
		if len(still) > 0 {
			text += "\nStill not operational: " + strings.Join(still, ", ") + " — `status COMPONENT operational` when they are."
		}
	}
	m.announce(ctx, c, text+" (by "+c.User.Name+")")
	return c.Replyf(ctx, "%s%s", text, note)
}

// component sets a component's state: `status NAME STATE`.
func (m *Module) component(ctx context.Context, c *command.Call) error {
	words, st, _ := statuspage.SplitState(strings.Fields(c.Args["component_state"]))
	name := strings.Join(words, " ")
	comp, near, found := m.svc.Find(name)
	if !found {
		return m.offer(ctx, c, name, near, func(n string) string { return "status " + n + " " + stateWord(st) })
	}
	prev, changed, err := m.svc.SetState(ctx, comp, st, c.User.Name)
	note, err := mirrorNote(err)
	if err != nil {
		return err
	}
	if !changed {
		return c.Replyf(ctx, "%s is already %s.", comp.Name, st.Label())
	}
	text := fmt.Sprintf("%s: %s → **%s**", comp.Name, prev.Label(), st.Label())
	m.announce(ctx, c, text+" (by "+c.User.Name+")")
	sev := chat.SeverityInfo
	if st != statuspage.Operational {
		sev = chat.SeverityWarning
	}
	if _, err := c.Reply(ctx, chat.Post{Text: text + note, Severity: sev}); err != nil {
		return err
	}
	if st == statuspage.Operational || st == statuspage.Maintenance {
		return nil
	}
	if _, err := m.svc.Store().LatestOpen(ctx); err == nil {
		return nil
	} else if !errors.Is(err, statuspage.ErrNotFound) {
		return err
	}
	_, err = c.OpenThread(ctx, promptThread, comp.Name+" "+st.Label(), chat.Post{
		Text: fmt.Sprintf("No incident is open, so the public page only shows %s as %s. Reply in this thread with what the public should read and I'll open an incident (investigating) — or say `status open investigating NAME: MESSAGE`.",
			comp.Name, st.Label()),
	})
	return err
}

// stateWord is the chat word for a state.
func stateWord(st statuspage.State) string {
	switch st {
	case statuspage.Degraded:
		return "degraded"
	case statuspage.Partial:
		return "partial"
	case statuspage.Major:
		return "major"
	case statuspage.Maintenance:
		return "maintenance"
	}
	return "operational"
}

func (m *Module) names() string {
	var ns []string
	for _, c := range m.svc.Config().Components {
		ns = append(ns, c.Name)
	}
	if len(ns) == 0 {
		return "none are configured (statuspage.components)"
	}
	return strings.Join(ns, ", ")
}

// offer answers an unknown component: the near misses as choices (never
// applied by guessing), else the list of components.
func (m *Module) offer(ctx context.Context, c *command.Call, name string, near []string, cmd func(string) string) error {
	if len(near) == 0 {
		return c.Replyf(ctx, "I know no component %q. The components: %s.", name, m.names())
	}
	p := chat.Post{Text: fmt.Sprintf("I know no component %q. Did you mean:", name)}
	for i, n := range near {
		p.Buttons = append(p.Buttons, chat.Button{ID: fmt.Sprintf("component-%d", i+1), Label: n, Value: cmd(n)})
	}
	_, err := c.Reply(ctx, p)
	return err
}

// query answers `status NAME?` (`status ?` is the overview).
func (m *Module) query(ctx context.Context, c *command.Call) error {
	name := c.Args["component"]
	if name == "" {
		return m.overview(ctx, c)
	}
	comp, near, found := m.svc.Find(name)
	if !found {
		return m.offer(ctx, c, name, near, func(n string) string { return "status " + n + "?" })
	}
	comps, err := m.svc.Components(ctx)
	if err != nil {
		return err
	}
	for _, x := range comps {
		if x.Name == comp.Name {
			text := fmt.Sprintf("%s: %s", x.Name, x.State.Label())
			if !x.Updated.IsZero() {
				text += fmt.Sprintf(" (since %s, by %s)", ago(m.clock.Now(), x.Updated), x.UpdatedBy)
			}
			return c.Replyf(ctx, "%s", text)
		}
	}
	return c.Replyf(ctx, "%s: operational", comp.Name)
}

// prompted opens an incident from a reply in the prompt thread.
func (m *Module) prompted(ctx context.Context, c *command.Call) error {
	body := strings.TrimSpace(c.Args["message"])
	if body == "" {
		return nil
	}
	if _, err := m.svc.Store().LatestOpen(ctx); err == nil {
		return c.Replyf(ctx, "An incident is open already; say `status update %s`.", body)
	}
	return m.openIncident(ctx, c, statuspage.Investigating, c.ThreadData, body)
}
