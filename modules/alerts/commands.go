package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opsbot/opsbot/alert"
	"github.com/opsbot/opsbot/alert/opsgenie"
	"github.com/opsbot/opsbot/alert/pagerduty"
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
)

// live are the states `alerts` lists.
var live = []alert.State{alert.Open, alert.Acknowledged}

func (m *Module) list(ctx context.Context, c *command.Call) error {
	as, err := m.st.List(ctx, alert.Filter{States: live, OldestFirst: true, Limit: 50})
	if err != nil {
		return err
	}
	if len(as) == 0 {
		return c.Replyf(ctx, "No open alerts.")
	}
	return c.Replyf(ctx, "%s", m.lines(as))
}

func (m *Module) lines(as []alert.Alert) string {
	now := m.clock.Now()
	ls := make([]string, len(as))
	for i, a := range as {
		ls[i] = a.Line(now)
	}
	return strings.Join(ls, "\n")
}

// mine lists the live alerts the caller acknowledged, was paged for, or
// whose team has the caller on call now.
func (m *Module) mine(ctx context.Context, c *command.Call) error {
	as, err := m.st.List(ctx, alert.Filter{States: live, OldestFirst: true, Limit: 200})
	if err != nil {
		return err
	}
	me := c.User.Name
	onCall := map[string]bool{}
	if m.oncall != nil {
		for _, t := range m.oncall.Teams() {
			if n, err := t.At(ctx, m.clock.Now()); err == nil && n.Primary == me {
				onCall[t.Name] = true
			}
		}
	}
	var out []alert.Alert
	for _, a := range as {
		if a.AckedBy == me || slices.Contains(a.Paged, me) || (a.State == alert.Open && onCall[a.Team]) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return c.Replyf(ctx, "No open alerts are yours, %s.", me)
	}
	return c.Replyf(ctx, "%s", m.lines(out))
}

// parseIDs reads "3 #4 5,6".
func parseIDs(text string) ([]int64, error) {
	var ids []int64
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == ',' }) {
		n, err := strconv.ParseInt(strings.TrimPrefix(w, "#"), 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not an alert id (say `alerts` for the ids)", w)
		}
		if !slices.Contains(ids, n) {
			ids = append(ids, n)
		}
	}
	return ids, nil
}

func (m *Module) ack(ctx context.Context, c *command.Call) error {
	text := strings.TrimSpace(c.Args["ids"])
	var ids []int64
	if text == "" || strings.EqualFold(text, "all") {
		as, err := m.st.List(ctx, alert.Filter{States: []alert.State{alert.Open}, OldestFirst: true, Limit: 1000})
		if err != nil {
			return err
		}
		if len(as) == 0 {
			return c.Replyf(ctx, "No open, unacknowledged alerts.")
		}
		for _, a := range as {
			ids = append(ids, a.ID)
		}
	} else {
		var err error
		if ids, err = parseIDs(text); err != nil {
			return err
		}
	}
	return m.transition(ctx, c, ids, true)
}

func (m *Module) close(ctx context.Context, c *command.Call) error {
	ids, err := parseIDs(c.Args["ids"])
	if err != nil {
		return err
	}
	return m.transition(ctx, c, ids, false)
}

func (m *Module) threadAlert(c *command.Call) ([]int64, error) {
	id, err := strconv.ParseInt(c.ThreadData, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("this thread names no alert")
	}
	return []int64{id}, nil
}

func (m *Module) ackThread(ctx context.Context, c *command.Call) error {
	ids, err := m.threadAlert(c)
	if err != nil {
		return err
	}
	return m.transition(ctx, c, ids, true)
}

func (m *Module) closeThread(ctx context.Context, c *command.Call) error {
	ids, err := m.threadAlert(c)
	if err != nil {
		return err
	}
	return m.transition(ctx, c, ids, false)
}

// transition acknowledges (ack) or closes alerts here, then at their
// vendors, and answers in one line.
func (m *Module) transition(ctx context.Context, c *command.Call, ids []int64, ack bool) error {
	by, now := c.User.Name, m.clock.Now()
	var changed []alert.Alert
	var err error
	verb := "Closed"
	if ack {
		verb = "Acknowledged"
		changed, err = m.st.Ack(ctx, ids, by, now)
	} else {
		changed, err = m.st.Close(ctx, ids, by, now)
	}
	if err != nil {
		return err
	}
	done := map[int64]bool{}
	var shorts, problems []string
	for _, a := range changed {
		done[a.ID] = true
		shorts = append(shorts, a.Short())
		if err := m.toVendor(ctx, a, by, ack); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", a.Short(), err))
			_ = m.st.Note(ctx, a.ID, now, "vendor", err.Error())
		}
		if c.ThreadData == "" || c.ThreadData != strconv.FormatInt(a.ID, 10) {
			m.inThread(ctx, a, chat.Post{Text: fmt.Sprintf("%s %s by %s", strings.ToLower(verb), a.Short(), by)})
		}
	}
	var skipped []string
	for _, id := range ids {
		if done[id] {
			continue
		}
		a, err := m.st.Get(ctx, id)
		switch {
		case errors.Is(err, alert.ErrNotFound):
			skipped = append(skipped, fmt.Sprintf("#%d does not exist", id))
		case err != nil:
			return err
		case a.State == alert.Closed:
			skipped = append(skipped, fmt.Sprintf("%s is closed", a.Short()))
		default:
			skipped = append(skipped, fmt.Sprintf("%s is already acknowledged by %s", a.Short(), a.AckedBy))
		}
	}
	var b strings.Builder
	if len(shorts) > 0 {
		fmt.Fprintf(&b, "%s %s (%s).", verb, strings.Join(shorts, ", "), by)
	} else {
		fmt.Fprintf(&b, "Nothing to %s.", strings.ToLower(strings.TrimSuffix(verb, "d")))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, " %s.", strings.Join(skipped, "; "))
	}
	if len(problems) > 0 {
		fmt.Fprintf(&b, "\n⚠ Done here, but not at the vendor: %s", strings.Join(problems, "; "))
	}
	if ack && len(shorts) > 0 {
		m.poke()
	}
	sev := chat.SeverityInfo
	if len(problems) > 0 {
		sev = chat.SeverityWarning
	}
	_, err = c.Reply(ctx, chat.Post{Text: b.String(), Severity: sev})
	if err == nil && len(shorts) == 0 && len(skipped) > 0 {
		return fmt.Errorf("%w: nothing changed", bot.ErrReported)
	}
	return err
}

// vendorClient acknowledges and closes alerts at a vendor.
type vendorClient interface {
	Acknowledge(ctx context.Context, id, user string) error
	Close(ctx context.Context, id, user string) error
}

// vendorFor returns the client for an alert's vendor: the credentials of
// the alert's team, else of the first team that has that vendor's.
func (m *Module) vendorFor(a alert.Alert) (vendorClient, error) {
	if m.oncall == nil {
		return nil, fmt.Errorf("no %s credentials (oncall.teams[].%s)", a.Vendor, a.Vendor)
	}
	teams := m.oncall.Teams()
	names := []string{a.Team}
	for _, t := range teams {
		names = append(names, t.Name)
	}
	for _, n := range names {
		tc, ok := m.oncall.TeamConfig(n)
		if !ok {
			continue
		}
		switch {
		case a.Vendor == "opsgenie" && tc.Opsgenie != nil && tc.Opsgenie.APIKey != "":
			return opsgenie.New(tc.Opsgenie.BaseURL, tc.Opsgenie.APIKey.Reveal(), nil), nil
		case a.Vendor == "pagerduty" && tc.PagerDuty != nil && tc.PagerDuty.Token != "":
			return pagerduty.New(tc.PagerDuty.BaseURL, tc.PagerDuty.Token.Reveal(), tc.PagerDuty.From, nil), nil
		}
	}
	return nil, fmt.Errorf("no %s credentials (oncall.teams[].%s)", a.Vendor, a.Vendor)
}

func (m *Module) toVendor(ctx context.Context, a alert.Alert, by string, ack bool) error {
	if a.Vendor == "" || a.VendorID == "" {
		return nil
	}
	v, err := m.vendorFor(a)
	if err != nil {
		return err
	}
	if ack {
		err = v.Acknowledge(ctx, a.VendorID, by)
	} else {
		err = v.Close(ctx, a.VendorID, by)
	}
	if err == nil {
		_ = m.st.Note(ctx, a.ID, m.clock.Now(), "vendor", fmt.Sprintf("%s: done at %s", map[bool]string{true: "acknowledge", false: "close"}[ack], a.Vendor))
	}
	return err
}
