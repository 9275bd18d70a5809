package statuspage_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/statuspage"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// databases runs fn on SQLite and on a real PostgreSQL.
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

func TestStore(t *testing.T) {
	databases(t, func(t *testing.T, db *sql.DB) {
		ctx := context.Background()
		s := statuspage.NewStore(db)
		t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

		prev, changed, err := s.SetState(ctx, "API", statuspage.Major, "alice", t0)
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, statuspage.Operational, prev)
		_, changed, err = s.SetState(ctx, "API", statuspage.Major, "bob", t0.Add(time.Minute))
		require.NoError(t, err)
		require.False(t, changed, "the same state again is no change")
		prev, _, err = s.SetState(ctx, "API", statuspage.Operational, "bob", t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, statuspage.Major, prev)
		states, err := s.States(ctx)
		require.NoError(t, err)
		require.Equal(t, statuspage.Component{Name: "API", State: statuspage.Operational, Updated: t0.Add(time.Hour), UpdatedBy: "bob"}, states["API"])
		changes, err := s.Changes(ctx, t0, 10)
		require.NoError(t, err)
		require.Len(t, changes, 2)
		require.Equal(t, statuspage.Major, changes[0].From, "newest first")
		require.Equal(t, "alice", changes[1].By)

		inc, err := s.Open(ctx, statuspage.Incident{Name: "Builds delayed", Status: statuspage.Investigating, Impact: statuspage.Degraded,
			Components: []string{"Build Processing"}, Created: t0}, "looking", "alice")
		require.NoError(t, err)
		require.NotZero(t, inc.ID)
		require.NoError(t, s.AddUpdate(ctx, inc.ID, statuspage.Monitoring, "fixed", "bob", t0.Add(time.Minute)))
		open, err := s.LatestOpen(ctx)
		require.NoError(t, err)
		require.Equal(t, inc.ID, open.ID)
		require.NoError(t, s.AddUpdate(ctx, inc.ID, statuspage.Resolved, "done", "bob", t0.Add(2*time.Minute)))
		_, err = s.LatestOpen(ctx)
		require.ErrorIs(t, err, statuspage.ErrNotFound)
		require.ErrorIs(t, s.AddUpdate(ctx, 999, statuspage.Resolved, "x", "y", t0), statuspage.ErrNotFound)

		got, err := s.Incident(ctx, inc.ID)
		require.NoError(t, err)
		require.Equal(t, statuspage.Resolved, got.Status)
		require.Equal(t, t0.Add(2*time.Minute), got.Resolved)
		require.Equal(t, []string{"Build Processing"}, got.Components)
		require.Len(t, got.Updates, 3)
		require.Equal(t, "looking", got.Updates[0].Body)
		require.Equal(t, "done", got.Updates[2].Body)
		_, err = s.Incident(ctx, inc.ID+1)
		require.ErrorIs(t, err, statuspage.ErrNotFound)

		second, err := s.Open(ctx, statuspage.Incident{Name: "Second", Status: statuspage.Identified, Created: t0.Add(time.Hour)}, "x", "alice")
		require.NoError(t, err)
		require.NoError(t, s.SetRemoteID(ctx, second.ID, "remote-1"))
		list, err := s.Incidents(ctx, statuspage.Filter{Limit: 1})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "remote-1", list[0].RemoteID)
		list, err = s.Incidents(ctx, statuspage.Filter{Before: second.ID})
		require.NoError(t, err)
		require.Equal(t, inc.ID, list[0].ID)
		list, err = s.Incidents(ctx, statuspage.Filter{OpenOnly: true})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "Second", list[0].Name)
	})
}
