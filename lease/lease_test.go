package lease

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store/dbtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func TestTryAcquire(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := t.Context()
		clk := clock.NewFake(t0)
		a := New(st.DB(), Options{Holder: "a", TTL: 15 * time.Second, Clock: clk})
		b := New(st.DB(), Options{Holder: "b", TTL: 15 * time.Second, Clock: clk})

		ok, err := a.TryAcquire(ctx, "adapter/irc")
		require.NoError(t, err)
		assert.True(t, ok, "a free lease is taken")
		ok, err = b.TryAcquire(ctx, "adapter/irc")
		require.NoError(t, err)
		assert.False(t, ok, "a held lease is not")
		ok, err = b.TryAcquire(ctx, "notify/pipeline")
		require.NoError(t, err)
		assert.True(t, ok, "leases are independent")

		clk.Advance(10 * time.Second)
		ok, err = a.TryAcquire(ctx, "adapter/irc")
		require.NoError(t, err)
		assert.True(t, ok, "the holder renews")
		clk.Advance(10 * time.Second)
		ok, err = b.TryAcquire(ctx, "adapter/irc")
		require.NoError(t, err)
		assert.False(t, ok, "renewed: still a's 20s after it was first taken")

		clk.Advance(6 * time.Second)
		ok, err = b.TryAcquire(ctx, "adapter/irc")
		require.NoError(t, err)
		assert.True(t, ok, "expired: taken over")
		ok, err = a.TryAcquire(ctx, "adapter/irc")
		require.NoError(t, err)
		assert.False(t, ok, "the old holder lost it")

		require.NoError(t, b.Release(ctx, "adapter/irc"))
		ok, err = a.TryAcquire(ctx, "adapter/irc")
		require.NoError(t, err)
		assert.True(t, ok, "a released lease is free at once")

		list, err := a.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "adapter/irc", list[0].Name)
		assert.Equal(t, "a", list[0].Holder)
	})
}

// TestHoldHandsOver: two replicas compete with Hold; one runs at a time;
// when the holder stops, the other takes over.
func TestHoldHandsOver(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		var running atomic.Int32
		started := make(chan string, 4)
		work := func(name string) func(ctx context.Context) error {
			return func(ctx context.Context) error {
				if running.Add(1) != 1 {
					t.Errorf("%s runs while another does", name)
				}
				started <- name
				<-ctx.Done()
				running.Add(-1)
				return nil
			}
		}
		a := New(st.DB(), Options{Holder: "a", TTL: 3 * time.Second, Clock: clk})
		b := New(st.DB(), Options{Holder: "b", TTL: 3 * time.Second, Clock: clk})
		actx, stopA := context.WithCancel(t.Context())
		go a.Hold(actx, "x", work("a"))
		require.Equal(t, "a", <-started)
		require.Eventually(t, func() bool { return a.Held("x") }, 5*time.Second, 5*time.Millisecond)
		bctx, stopB := context.WithCancel(t.Context())
		defer stopB()
		go b.Hold(bctx, "x", work("b"))
		// b keeps trying every second; a renews every second.
		for range 5 {
			clk.Advance(time.Second)
			time.Sleep(10 * time.Millisecond)
		}
		assert.False(t, b.Held("x"))
		stopA() // a stops: gives the lease up
		require.Eventually(t, func() bool { return !a.Held("x") }, 5*time.Second, 5*time.Millisecond)
		deadline := time.Now().Add(10 * time.Second)
		for !b.Held("x") && time.Now().Before(deadline) {
			clk.Advance(time.Second)
			time.Sleep(10 * time.Millisecond)
		}
		require.True(t, b.Held("x"), "b takes over")
		assert.Equal(t, "b", <-started)
	})
}

// TestHoldLosesAnExpiredLease: a holder that cannot renew in time (another
// took it after expiry) stops its work.
func TestHoldLosesAnExpiredLease(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		a := New(st.DB(), Options{Holder: "a", TTL: 3 * time.Second, Clock: clk})
		stopped := make(chan error, 1)
		go a.Hold(t.Context(), "x", func(ctx context.Context) error {
			<-ctx.Done()
			stopped <- context.Cause(ctx)
			return nil
		})
		require.Eventually(t, func() bool { return a.Held("x") }, 5*time.Second, 5*time.Millisecond)
		// Someone else writes the lease as theirs (a's renewals were lost).
		_, err := st.DB().ExecContext(t.Context(), `UPDATE leases SET holder = 'b', expires = $1`, t0.Add(time.Hour).UnixMilli())
		require.NoError(t, err)
		var cause error
		require.Eventually(t, func() bool {
			clk.Advance(time.Second)
			select {
			case cause = <-stopped:
				return true
			default:
				return false
			}
		}, 10*time.Second, 10*time.Millisecond)
		assert.ErrorIs(t, cause, ErrLost)
		assert.False(t, a.Held("x"))
	})
}
