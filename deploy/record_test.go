package deploy

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store/dbtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func TestRecords(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		r := NewRecords(st.DB())
		d, err := r.Create(ctx, Deployment{App: "api", Env: "staging", Ref: "main", SHA: "aaa", Task: "deploy", User: "alice",
			Source: "chat", Room: "test:ops", Provider: "shell", Forced: true, Created: t0})
		require.NoError(t, err)
		require.NotZero(t, d.ID)

		// A second one for the same app and environment is busy; another env is not.
		_, err = r.Create(ctx, Deployment{App: "api", Env: "staging", Ref: "x", User: "bob", Provider: "shell", Created: t0})
		var busy *Busy
		require.ErrorAs(t, err, &busy)
		require.Equal(t, d.ID, busy.Active.ID)
		require.Equal(t, "alice", busy.Active.User)
		other, err := r.Create(ctx, Deployment{App: "api", Env: "qa", Ref: "main", User: "bob", Provider: "shell", Created: t0})
		require.NoError(t, err)

		require.NoError(t, r.SetJob(ctx, d.ID, 77, `{"id":"1"}`))
		require.NoError(t, r.SetGitHubID(ctx, d.ID, 4242))
		started, err := r.Start(ctx, d.ID, "bbb", t0.Add(time.Second))
		require.NoError(t, err)
		require.True(t, started)
		started, err = r.Start(ctx, d.ID, "ccc", t0.Add(time.Second))
		require.NoError(t, err)
		require.False(t, started, "only a pending deployment starts")
		got, err := r.Get(ctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, StatusRunning, got.Status)
		require.Equal(t, "bbb", got.SHA)
		require.Equal(t, int64(77), got.JobID)
		require.True(t, got.Forced)
		require.Equal(t, t0, got.Created)
		byGH, err := r.ByGitHubID(ctx, 4242)
		require.NoError(t, err)
		require.Equal(t, d.ID, byGH.ID)

		ok, err := r.Finish(ctx, d.ID, StatusSuccess, "", t0.Add(3*time.Second))
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = r.Finish(ctx, d.ID, StatusInterrupted, "late", t0.Add(4*time.Second))
		require.NoError(t, err)
		require.False(t, ok, "the first outcome wins")
		got, _ = r.Get(ctx, d.ID)
		require.Equal(t, 2*time.Second, got.Duration(t0))

		// The slot is free again.
		d3, err := r.Create(ctx, Deployment{App: "api", Env: "staging", Ref: "main", User: "bob", Provider: "shell", Created: t0})
		require.NoError(t, err)
		last, err := r.LastSuccess(ctx, "api", "staging", 0)
		require.NoError(t, err)
		require.Equal(t, d.ID, last.ID)
		_, err = r.LastSuccess(ctx, "api", "staging", d.ID)
		require.ErrorIs(t, err, ErrNotFound)

		list, err := r.List(ctx, Filter{App: "api", Statuses: []string{StatusPending}})
		require.NoError(t, err)
		require.Equal(t, []int64{d3.ID, other.ID}, []int64{list[0].ID, list[1].ID})
		active, err := r.Active(ctx)
		require.NoError(t, err)
		require.Len(t, active, 2)
		_, err = r.Get(ctx, 9999)
		require.ErrorIs(t, err, ErrNotFound)
	})
}

func TestConcurrentCreatesTakeOneSlot(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		r := NewRecords(st.DB())
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, busy := 0, 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := r.Create(context.Background(), Deployment{App: "api", Env: "production", Ref: "main", User: "u", Provider: "shell", Created: t0})
				mu.Lock()
				defer mu.Unlock()
				var b *Busy
				switch {
				case err == nil:
					won++
				case errors.As(err, &b):
					busy++
				default:
					// SQLite may report its one writer as busy; that is a refusal too.
					busy++
				}
			}()
		}
		wg.Wait()
		require.Equal(t, 1, won)
		require.Equal(t, 7, busy)
	})
}

func TestLocks(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		ls := NewLocks(st.DB())
		_, err := ls.Get(ctx, "api", "production", t0)
		require.ErrorIs(t, err, ErrNotFound)
		l, err := ls.Lock(ctx, Lock{App: "api", Env: "production", User: "alice", Reason: "db migration", Expires: t0.Add(time.Hour)}, t0)
		require.NoError(t, err)
		require.Equal(t, "locked by alice 5 min ago: db migration (until 2026-11-22 10:00 UTC, in 55 min)", l.Describe(t0.Add(5*time.Minute)))
		_, err = ls.Lock(ctx, Lock{App: "api", Env: "production", User: "bob"}, t0)
		require.ErrorIs(t, err, ErrLocked)
		require.ErrorContains(t, err, "locked by alice")
		// alice may change her own lock.
		_, err = ls.Lock(ctx, Lock{App: "api", Env: "production", User: "alice", Reason: "longer"}, t0)
		require.NoError(t, err)
		list, err := ls.List(ctx, t0)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "longer", list[0].Reason)
		require.True(t, list[0].Expires.IsZero())
		old, err := ls.Unlock(ctx, "api", "production", t0)
		require.NoError(t, err)
		require.Equal(t, "alice", old.User)
		_, err = ls.Unlock(ctx, "api", "production", t0)
		require.ErrorIs(t, err, ErrNotFound)

		// An expired lock no longer holds, and someone else may lock.
		_, err = ls.Lock(ctx, Lock{App: "api", Env: "qa", User: "alice", Expires: t0.Add(time.Minute)}, t0)
		require.NoError(t, err)
		_, err = ls.Get(ctx, "api", "qa", t0.Add(time.Minute))
		require.ErrorIs(t, err, ErrNotFound)
		list, _ = ls.List(ctx, t0.Add(2*time.Minute))
		require.Empty(t, list)
		_, err = ls.Lock(ctx, Lock{App: "api", Env: "qa", User: "bob"}, t0.Add(2*time.Minute))
		require.NoError(t, err)

		// Auto-deploy overrides.
		a := NewAutoDeploy(st.DB())
		require.NoError(t, a.Set(ctx, "api", "qa", false, "alice", t0))
		require.NoError(t, a.Set(ctx, "api", "staging", true, "bob", t0))
		over, err := a.Overrides(ctx, "api")
		require.NoError(t, err)
		require.False(t, over["qa"].Enabled)
		require.True(t, over["staging"].Enabled)
		require.Equal(t, "bob", over["staging"].User)
	})
}
