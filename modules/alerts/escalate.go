package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/alert"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/oncall"
	"github.com/opsbot/opsbot/store"
)

// team returns the on-call team of an alert (nil without teams).
func (m *Module) team(name string) *oncall.Team {
	if m.oncall == nil {
		return nil
	}
	return m.oncall.Team(name)
}

// escalateLoop fires escalation steps when they fall due, on the bot's
// clock: it sleeps until the next step of any open alert, or until woken
// by a new alert or an acknowledgement.
func (m *Module) escalateLoop(ctx context.Context) {
	for {
		next := m.EscalateDue(ctx)
		var timer <-chan time.Time
		if !next.IsZero() {
			// Measured from the clock's time now, not before EscalateDue
			// ran: a timer already due fires at once.
			timer = m.clock.After(next.Sub(m.clock.Now()))
		}
		select {
		case <-ctx.Done():
			return
		case <-timer:
		case <-m.wake:
		}
	}
}

// EscalateDue fires the escalation steps due now for every open alert that
// escalates, and returns when the next one falls due (zero: none).
func (m *Module) EscalateDue(ctx context.Context) time.Time {
	if m.oncall == nil || len(m.oncall.Teams()) == 0 {
		return time.Time{}
	}
	as, err := m.st.List(ctx, alert.Filter{States: []alert.State{alert.Open}, OldestFirst: true, Limit: 1000})
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("alerts: escalation", "err", err)
		}
		return m.clock.Now().Add(time.Minute)
	}
	var soonest time.Time
	now := m.clock.Now()
	for _, a := range as {
		if !m.escalates(a.Severity) {
			continue
		}
		t := m.team(a.Team)
		if t == nil {
			continue
		}
		due, next := oncall.Due(t.Escalation, a.Opened, a.Step, now)
		for _, i := range due {
			step := t.Escalation[i]
			ok, paged, err := m.fire(ctx, a, t, i, step)
			if err != nil {
				m.log.Error("alerts: escalation step", "alert", a.ID, "step", i+1, "err", err)
				break
			}
			if !ok {
				break // acknowledged meanwhile, or another replica fired it
			}
			a.Step, a.Paged = i+1, paged
		}
		if !next.IsZero() && (soonest.IsZero() || next.Before(soonest)) {
			soonest = next
		}
	}
	return soonest
}

// fire runs one escalation step: it claims the step in the store (so it
// fires once), pages, and writes the step in the alert's thread.
func (m *Module) fire(ctx context.Context, a alert.Alert, t *oncall.Team, i int, step oncall.Step) (bool, []string, error) {
	targets, why, err := m.targets(ctx, t, step.Notify)
	if err != nil {
		m.log.Warn("alerts: escalation target", "alert", a.ID, "notify", step.Notify, "err", err)
	}
	paged := append([]string(nil), a.Paged...)
	for _, u := range targets {
		if !contains(paged, u) {
			paged = append(paged, u)
		}
	}
	ok, err := m.st.AdvanceStep(ctx, a.ID, i+1, paged)
	if err != nil || !ok {
		return ok, a.Paged, err
	}
	var text string
	if step.Notify == "room" {
		m.mentionRoom(ctx, a, t)
		text = fmt.Sprintf("escalation step %d/%d: mentioned the whole room (%s)", i+1, len(t.Escalation), t.Room)
	} else {
		reached := m.page(ctx, a, step.Notify, "")
		text = fmt.Sprintf("escalation step %d/%d: paged %s (%s)", i+1, len(t.Escalation), orNobody(strings.Join(targets, ", ")), why)
		if len(reached) < len(targets) {
			text += " — could not reach some of them by direct message"
		}
	}
	_ = m.st.Note(ctx, a.ID, m.clock.Now(), "escalation", text)
	m.inThread(ctx, a, chat.Post{Text: text, Severity: chat.SeverityWarning})
	return true, paged, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// targets are the opsbot users a step notifies, and in words why.
func (m *Module) targets(ctx context.Context, t *oncall.Team, notify string) ([]string, string, error) {
	switch {
	case notify == "primary" || notify == "secondary":
		n, err := t.At(ctx, m.clock.Now())
		if err != nil {
			return nil, notify, err
		}
		u := n.Primary
		if notify == "secondary" {
			u = n.Secondary
		}
		if u == "" {
			return nil, notify, fmt.Errorf("team %s has no %s on call", t.Name, notify)
		}
		return []string{u}, notify + " on call for " + t.Name, nil
	case strings.HasPrefix(notify, "user:"):
		return []string{strings.TrimPrefix(notify, "user:")}, "named in the escalation", nil
	case strings.HasPrefix(notify, "group:"):
		g := strings.TrimPrefix(notify, "group:")
		us, err := m.b.Store().Members(ctx, g)
		if err != nil {
			return nil, "group " + g, err
		}
		var names []string
		for _, u := range us {
			names = append(names, u.Name)
		}
		return names, "group " + g, nil
	}
	return nil, notify, nil
}

// page sends a direct message about an alert to the users a step names;
// it returns who was reached.
func (m *Module) page(ctx context.Context, a alert.Alert, notify, why string) []string {
	t := m.team(a.Team)
	if t == nil {
		return nil
	}
	users, _, err := m.targets(ctx, t, notify)
	if err != nil {
		m.log.Warn("alerts: page", "alert", a.ID, "err", err)
		return nil
	}
	text := fmt.Sprintf("🔔 Alert %s [%s] %s is unacknowledged (%s). Say `ack %d`.", a.Short(), a.Severity, a.Title, alert.Age(m.clock.Now(), a.Opened), a.ID)
	if why != "" {
		text = fmt.Sprintf("🔔 Alert %s [%s] %s: %s. Say `ack %d`.", a.Short(), a.Severity, a.Title, why, a.ID)
	}
	var reached []string
	for _, u := range users {
		if m.dm(ctx, u, chat.Post{Text: text, Severity: chat.SeverityCritical}) {
			reached = append(reached, u)
		}
	}
	return reached
}

// dm posts to every chat identity of an opsbot user; it reports whether
// one post went out.
func (m *Module) dm(ctx context.Context, name string, p chat.Post) bool {
	st := m.b.Store()
	u, err := st.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		m.log.Warn("alerts: page: no such opsbot user", "user", name)
		return false
	}
	if err != nil {
		m.log.Warn("alerts: page", "user", name, "err", err)
		return false
	}
	ids, err := st.IdentitiesOf(ctx, u.ID)
	if err != nil {
		m.log.Warn("alerts: page", "user", name, "err", err)
		return false
	}
	adapters := map[string]bool{}
	for _, a := range m.b.Sender().Adapters() {
		adapters[a.Name()] = true
	}
	sent := false
	for _, id := range ids {
		if !adapters[id.Adapter] {
			continue
		}
		if _, err := m.b.Post(ctx, chat.Room{Adapter: id.Adapter, ID: id.ChatID, Name: "@" + name}, p); err != nil {
			m.log.Warn("alerts: page failed", "user", name, "adapter", id.Adapter, "err", err)
			continue
		}
		sent = true
	}
	return sent
}

// mentionRoom is the last resort: a post in the team's room for everyone.
func (m *Module) mentionRoom(ctx context.Context, a alert.Alert, t *oncall.Team) {
	room, ok := m.roomOf(t.Name)
	if !ok {
		m.log.Warn("alerts: escalation to the room, but team has no room", "team", t.Name)
		return
	}
	text := fmt.Sprintf("@here Alert %s [%s] %s has been unacknowledged for %s. Anyone: `ack %d`.", a.Short(), a.Severity, a.Title,
		alert.Age(m.clock.Now(), a.Opened), a.ID)
	if _, err := m.b.Post(ctx, room, chat.Post{Text: text, Severity: chat.SeverityCritical}); err != nil {
		m.log.Warn("alerts: room mention failed", "err", err)
	}
}
