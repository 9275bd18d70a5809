package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
)

// Kind is what an event did to the alerts.
type Kind string

const (
	Ignored      Kind = ""
	Opened       Kind = "opened"
	Refreshed    Kind = "refreshed" // still firing
	AckedRemote  Kind = "acknowledged"
	Reopened     Kind = "unacknowledged"
	ClosedRemote Kind = "closed"
)

// Change is the effect of one event.
type Change struct {
	Kind  Kind
	Alert Alert
}

// vendorAction reads what a vendor's webhook says happened to its alert:
// "acknowledge", "unacknowledge" or "" (Opsgenie's action label, PagerDuty's
// incident event type), and who did it.
func vendorAction(e event.Event) (action, by string) {
	switch e.Tag {
	case "alert.opsgenie":
		by = e.Labels["user"]
		switch e.Labels["action"] {
		case "acknowledge":
			return "acknowledge", by
		case "unacknowledge":
			return "unacknowledge", by
		}
	case "alert.pagerduty":
		if _, who, ok := strings.Cut(e.Title, " by "); ok {
			by = who
		}
		switch e.Labels["event_type"] {
		case "incident.acknowledged":
			return "acknowledge", by
		case "incident.unacknowledged":
			return "unacknowledge", by
		}
	}
	return "", by
}

// opens reports whether a vendor's event may open an alert: Opsgenie's
// Create (and any other action), PagerDuty's incident.triggered.
func opens(e event.Event) bool {
	switch e.Tag {
	case "alert.opsgenie":
		return e.Labels["action"] == "create"
	case "alert.pagerduty":
		return e.Labels["event_type"] == "incident.triggered"
	}
	return true
}

// Apply turns an event into an alert change: a firing event opens an alert
// (or refreshes the open one with its fingerprint), a resolved event closes
// it; a vendor's acknowledgement acknowledges it here too. team is the
// alert's team when it is opened.
func (s *Store) Apply(ctx context.Context, e event.Event, team string, now time.Time) (Change, error) {
	ch, err := s.apply(ctx, e, team, now)
	if errors.Is(err, errRace) {
		// Another process opened the alert meanwhile (the unique index on
		// live fingerprints refused ours): this event refreshes it.
		ch, err = s.apply(ctx, e, team, now)
	}
	return ch, err
}

// errRace is an insert that lost to a concurrent one.
var errRace = errors.New("alert opened concurrently")

func (s *Store) apply(ctx context.Context, e event.Event, team string, now time.Time) (Change, error) {
	fp := Fingerprint(e)
	action, by := vendorAction(e)
	if by == "" {
		by = e.Source
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Change{}, fmt.Errorf("alert from event %s: %w", e.ID, err)
	}
	defer func() { _ = tx.Rollback() }()
	cur, err := openByFingerprint(ctx, tx, fp)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Change{}, fmt.Errorf("alert from event %s: %w", e.ID, err)
	}
	exists := err == nil
	var ch Change
	switch {
	case e.Status == event.Resolved && !exists:
		return Change{}, nil
	case !exists && action != "" && !opens(e):
		// A vendor's update (acknowledged, escalated…) about an alert
		// that is closed here: it does not open a new one.
		return Change{}, nil
	case e.Status == event.Resolved:
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'closed', closed = $1, closed_by = $2, last_seen = $1 WHERE id = $3`,
			ms(now), by, cur.ID); err != nil {
			return Change{}, fmt.Errorf("alert %d: %w", cur.ID, err)
		}
		cur.State, cur.Closed, cur.ClosedBy = Closed, now, by
		ch = Change{Kind: ClosedRemote, Alert: cur}
	case !exists:
		vendor, vid := VendorOf(e)
		title := e.Title
		if vendor != "" && action != "" {
			// "bob acknowledged: disk full" names the action; keep the alert's own words.
			if _, rest, ok := strings.Cut(title, ": "); ok && vendor == "opsgenie" {
				title = rest
			}
		}
		a := Alert{Fingerprint: fp, Tag: e.Tag, Source: e.Source, Title: title, Text: e.Text, Severity: e.Severity, State: Open,
			Team: team, Vendor: vendor, VendorID: vid, Labels: e.Labels, Links: e.Links, Opened: now, LastSeen: now}
		if action == "acknowledge" {
			a.State, a.Acked, a.AckedBy = Acknowledged, now, by
		}
		if a.Severity == "" {
			a.Severity = event.Warning
		}
		if a, err = insert(ctx, tx, a); err != nil {
			_ = tx.Rollback()
			if _, again := s.liveByFingerprint(ctx, fp); again == nil {
				return Change{}, errRace
			}
			return Change{}, err
		}
		ch = Change{Kind: Opened, Alert: a}
	case action == "acknowledge" && cur.State == Open:
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'acknowledged', acked = $1, acked_by = $2, last_seen = $1 WHERE id = $3`,
			ms(now), by, cur.ID); err != nil {
			return Change{}, fmt.Errorf("alert %d: %w", cur.ID, err)
		}
		cur.State, cur.Acked, cur.AckedBy = Acknowledged, now, by
		ch = Change{Kind: AckedRemote, Alert: cur}
	case action == "unacknowledge" && cur.State == Acknowledged:
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'open', acked = 0, acked_by = '', step = 0, last_seen = $1 WHERE id = $2`,
			ms(now), cur.ID); err != nil {
			return Change{}, fmt.Errorf("alert %d: %w", cur.ID, err)
		}
		cur.State, cur.Acked, cur.AckedBy, cur.Step = Open, time.Time{}, "", 0
		ch = Change{Kind: Reopened, Alert: cur}
	default:
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET last_seen = $1 WHERE id = $2`, ms(now), cur.ID); err != nil {
			return Change{}, fmt.Errorf("alert %d: %w", cur.ID, err)
		}
		cur.LastSeen = now
		ch = Change{Kind: Refreshed, Alert: cur}
	}
	if err := tx.Commit(); err != nil {
		return Change{}, fmt.Errorf("alert from event %s: %w", e.ID, err)
	}
	if ch.Kind != Refreshed {
		text := fmt.Sprintf("%s by %s (event %s)", ch.Kind, by, e.ID)
		if ch.Kind == Opened {
			text = fmt.Sprintf("opened from %s event %s", e.Tag, e.ID)
		}
		if err := s.Note(ctx, ch.Alert.ID, now, string(ch.Kind), text); err != nil {
			return ch, err
		}
	}
	return ch, nil
}
