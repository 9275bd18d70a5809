package alert_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/alert"
	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

func databases(t *testing.T, fn func(t *testing.T, db *sql.DB)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			url := ""
			if name == "postgres" {
				url = pgtest.Start(t)
			}
			st, err := sqlstore.Open(context.Background(), url, t.TempDir())
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			require.NoError(t, st.Migrate(context.Background()))
			fn(t, st.DB())
		})
	}
}

func TestLifecycle(t *testing.T) {
	databases(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		s := alert.NewStore(db)
		t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
		fire := event.Event{ID: "e1", Tag: "alert.alertmanager", Source: "alertmanager", Severity: event.Critical, Status: event.Firing,
			Title: "DiskFull", Fingerprint: "alertmanager:abc", Labels: map[string]string{"instance": "web1"},
			Links: []event.Link{{Title: "graph", URL: "http://prom/graph"}}}

		type step struct {
			e    event.Event
			kind alert.Kind
			id   int64
		}
		resolved := fire
		resolved.Status = event.Resolved
		other := fire
		other.Fingerprint, other.Title = "alertmanager:def", "CPU"
		for i, st := range []step{
			{fire, alert.Opened, 1},
			{fire, alert.Refreshed, 1},
			{other, alert.Opened, 2},
			{resolved, alert.ClosedRemote, 1},
			{resolved, alert.Ignored, 0},
			{fire, alert.Opened, 3}, // fires again: a new alert
		} {
			ch, err := s.Apply(ctx, st.e, "ops", t0.Add(time.Duration(i)*time.Minute))
			require.NoError(t, err, i)
			require.Equal(t, st.kind, ch.Kind, i)
			require.Equal(t, st.id, ch.Alert.ID, i)
		}
		a, err := s.Get(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, alert.Closed, a.State)
		require.Equal(t, "alertmanager", a.ClosedBy)
		require.Equal(t, "ops", a.Team)
		require.Equal(t, map[string]string{"instance": "web1"}, a.Labels)
		require.Equal(t, "http://prom/graph", a.Links[0].URL)
		require.Equal(t, t0.Add(3*time.Minute), a.LastSeen, "the resolution was seen last")

		acked, err := s.Ack(ctx, []int64{2, 3, 1, 99}, "alice", t0.Add(time.Hour))
		require.NoError(t, err)
		require.Len(t, acked, 2, "closed and missing alerts are skipped")
		again, err := s.Ack(ctx, []int64{2}, "bob", t0.Add(time.Hour))
		require.NoError(t, err)
		require.Empty(t, again)
		ok, err := s.AdvanceStep(ctx, 2, 1, []string{"alice"})
		require.NoError(t, err)
		require.False(t, ok, "acknowledged alerts do not escalate")

		closed, err := s.Close(ctx, []int64{2}, "alice", t0.Add(2*time.Hour))
		require.NoError(t, err)
		require.Len(t, closed, 1)

		live, err := s.List(ctx, alert.Filter{States: []alert.State{alert.Open, alert.Acknowledged}, OldestFirst: true})
		require.NoError(t, err)
		require.Len(t, live, 1)
		require.Equal(t, int64(3), live[0].ID)
		all, err := s.List(ctx, alert.Filter{Limit: 2})
		require.NoError(t, err)
		require.Equal(t, []int64{3, 2}, []int64{all[0].ID, all[1].ID})
		page, err := s.List(ctx, alert.Filter{Before: 2, Team: "ops"})
		require.NoError(t, err)
		require.Len(t, page, 1)

		hist, err := s.History(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "opened", hist[0].Kind)
		require.Equal(t, "closed", hist[len(hist)-1].Kind)
	})
}

func TestEscalationSteps(t *testing.T) {
	databases(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		s := alert.NewStore(db)
		_, err := s.Apply(ctx, event.Event{ID: "e", Tag: "monitor.firing", Severity: event.Critical, Status: event.Firing, Title: "x", Fingerprint: "x"}, "ops", time.Now())
		require.NoError(t, err)
		ok, err := s.AdvanceStep(ctx, 1, 1, []string{"alice"})
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.AdvanceStep(ctx, 1, 1, []string{"alice"})
		require.NoError(t, err)
		require.False(t, ok, "a step fires once, whoever tries")
		ok, err = s.AdvanceStep(ctx, 1, 3, nil)
		require.NoError(t, err)
		require.False(t, ok, "steps fire in order")
		a, err := s.Get(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, 1, a.Step)
		require.Equal(t, []string{"alice"}, a.Paged)
	})
}

func TestVendorEvents(t *testing.T) {
	databases(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		s := alert.NewStore(db)
		now := time.Now()
		og := func(action, user, title string) event.Event {
			st := event.Firing
			if action == "close" {
				st = event.Resolved
			}
			return event.Event{ID: action, Tag: "alert.opsgenie", Source: "opsgenie", Severity: event.Critical, Status: st, Title: title,
				Fingerprint: "opsgenie:70413a06", Labels: map[string]string{"action": action, "user": user}}
		}
		ch, err := s.Apply(ctx, og("acknowledge", "bob", "bob acknowledged: disk full"), "", now)
		require.NoError(t, err)
		require.Equal(t, alert.Ignored, ch.Kind, "an update about an alert never seen opens nothing")
		ch, err = s.Apply(ctx, og("create", "", "disk full"), "", now)
		require.NoError(t, err)
		require.Equal(t, alert.Opened, ch.Kind)
		require.Equal(t, "opsgenie", ch.Alert.Vendor)
		require.Equal(t, "70413a06", ch.Alert.VendorID)
		ch, err = s.Apply(ctx, og("acknowledge", "bob", "bob acknowledged: disk full"), "", now)
		require.NoError(t, err)
		require.Equal(t, alert.AckedRemote, ch.Kind)
		require.Equal(t, "bob", ch.Alert.AckedBy)
		ch, err = s.Apply(ctx, og("unacknowledge", "bob", "bob unacknowledged: disk full"), "", now)
		require.NoError(t, err)
		require.Equal(t, alert.Reopened, ch.Kind)
		ch, err = s.Apply(ctx, og("close", "bob", "bob closed: disk full"), "", now)
		require.NoError(t, err)
		require.Equal(t, alert.ClosedRemote, ch.Kind)
		require.Equal(t, "bob", ch.Alert.ClosedBy)

		pd := event.Event{ID: "p", Tag: "alert.pagerduty", Source: "pagerduty", Severity: event.Warning, Status: event.Firing,
			Title: "[#2] lag", Fingerprint: "pagerduty:Q1", Labels: map[string]string{"event_type": "incident.triggered"}}
		ch, err = s.Apply(ctx, pd, "", now)
		require.NoError(t, err)
		require.Equal(t, alert.Opened, ch.Kind)
		pd.Title, pd.Labels = "[#2] lag — acknowledged by Jane Doe", map[string]string{"event_type": "incident.acknowledged"}
		ch, err = s.Apply(ctx, pd, "", now)
		require.NoError(t, err)
		require.Equal(t, alert.AckedRemote, ch.Kind)
		require.Equal(t, "Jane Doe", ch.Alert.AckedBy)
	})
}

// Two processes tracking the same new alert at once open it once.
func TestConcurrentOpen(t *testing.T) {
	databases(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		s := alert.NewStore(db)
		e := event.Event{ID: "e", Tag: "alert.alertmanager", Severity: event.Critical, Status: event.Firing, Title: "x", Fingerprint: "alertmanager:same"}
		kinds := make(chan alert.Kind, 8)
		errs := make(chan error, 8)
		for range 8 {
			go func() {
				ch, err := s.Apply(ctx, e, "", time.Now())
				kinds <- ch.Kind
				errs <- err
			}()
		}
		opened := 0
		for range 8 {
			require.NoError(t, <-errs)
			if <-kinds == alert.Opened {
				opened++
			}
		}
		require.Equal(t, 1, opened)
		live, err := s.List(ctx, alert.Filter{States: []alert.State{alert.Open}})
		require.NoError(t, err)
		require.Len(t, live, 1)
	})
}
