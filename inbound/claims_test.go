package inbound

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/outbox"
	"github.com/opsbot/opsbot/store/dbtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func msg(id string) chat.Message {
	return chat.Message{ID: id, Room: chat.Room{Adapter: "web", ID: "ops"}, Text: "ping"}
}

func done(t *testing.T, st *sqlstore.Store, id string) bool {
	t.Helper()
	var d bool
	require.NoError(t, st.DB().QueryRowContext(t.Context(), `SELECT done FROM inbound_claims WHERE adapter = 'web' AND message_id = $1`, id).Scan(&d))
	return d
}

func TestClaimOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := t.Context()
		clk := clock.NewFake(t0)
		reg := prometheus.NewRegistry()
		a := New(st.DB(), Options{Holder: "a", Clock: clk, Stale: time.Minute, Metrics: reg})
		b := New(st.DB(), Options{Holder: "b", Clock: clk, Stale: time.Minute})

		_, mine, err := a.Claim(ctx, msg("web-1"))
		require.NoError(t, err)
		assert.True(t, mine)
		_, mine, err = b.Claim(ctx, msg("web-1"))
		require.NoError(t, err)
		assert.False(t, mine, "claimed by a")
		_, mine, err = a.Claim(ctx, msg("web-1"))
		require.NoError(t, err)
		assert.False(t, mine, "a redelivery to the same replica is a duplicate too")

		other := msg("web-1")
		other.Room.Adapter = "slack"
		_, mine, err = b.Claim(ctx, other)
		require.NoError(t, err)
		assert.True(t, mine, "IDs are per adapter")

		_, mine, err = b.Claim(ctx, msg(""))
		require.NoError(t, err)
		assert.True(t, mine, "a message without an ID is handled")

		assert.Equal(t, 1.0, testutil.ToFloat64(a.result.WithLabelValues("claimed")))
		assert.Equal(t, 1.0, testutil.ToFloat64(a.result.WithLabelValues("duplicate")))
	})
}

// TestStaleClaimTakenOver: a claim never done (its replica died before
// replying) is taken over after the stale time; a done one never is.
func TestStaleClaimTakenOver(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := t.Context()
		clk := clock.NewFake(t0)
		a := New(st.DB(), Options{Holder: "a", Clock: clk, Stale: time.Minute})
		b := New(st.DB(), Options{Holder: "b", Clock: clk, Stale: time.Minute})

		_, mine, err := a.Claim(ctx, msg("web-1"))
		require.NoError(t, err)
		require.True(t, mine)
		a.stopRenewing("web", "web-1") // a dies while handling web-1
		hctx, mine, err := a.Claim(ctx, msg("web-2"))
		require.NoError(t, err)
		require.True(t, mine)
		require.NoError(t, a.Done(hctx, msg("web-2")))

		clk.Advance(30 * time.Second)
		_, mine, err = b.Claim(ctx, msg("web-1"))
		require.NoError(t, err)
		assert.False(t, mine, "not stale yet")
		clk.Advance(31 * time.Second)
		_, mine, err = b.Claim(ctx, msg("web-1"))
		require.NoError(t, err)
		assert.True(t, mine, "stale: taken over")
		_, mine, err = b.Claim(ctx, msg("web-2"))
		require.NoError(t, err)
		assert.False(t, mine, "done: never again")
	})
}

// TestFirstReplyMarksDone: the claim is done in the transaction that writes
// the first reply to the outbox, not before.
func TestFirstReplyMarksDone(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := t.Context()
		clk := clock.NewFake(t0)
		c := New(st.DB(), Options{Holder: "a", Clock: clk})
		ob := outbox.New(outbox.Options{DB: st.DB(), Dialect: st.Dialect(), Clock: clk})

		hctx, mine, err := c.Claim(ctx, msg("web-7"))
		require.NoError(t, err)
		require.True(t, mine)
		assert.False(t, done(t, st, "web-7"))
		_, err = ob.Enqueue(hctx, chat.Room{Adapter: "web", ID: "ops"}, chat.Post{Text: "pong"})
		require.NoError(t, err)
		assert.True(t, done(t, st, "web-7"), "done with the reply")
		assert.True(t, outbox.HookDone(hctx))
		_, err = ob.Enqueue(hctx, chat.Room{Adapter: "web", ID: "ops"}, chat.Post{Text: "second"})
		require.NoError(t, err)

		// A write that fails leaves the claim open.
		hctx, _, err = c.Claim(ctx, msg("web-8"))
		require.NoError(t, err)
		cctx, cancel := context.WithCancel(hctx)
		cancel()
		_, err = ob.Enqueue(cctx, chat.Room{Adapter: "web", ID: "ops"}, chat.Post{Text: "lost"})
		require.Error(t, err)
		assert.False(t, done(t, st, "web-8"))
		assert.False(t, outbox.HookDone(hctx))
		require.NoError(t, c.Done(hctx, msg("web-8")))
		assert.True(t, done(t, st, "web-8"), "done when handling ends without a reply")
	})
}

func TestPurge(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := t.Context()
		clk := clock.NewFake(t0)
		c := New(st.DB(), Options{Holder: "a", Clock: clk, Keep: 24 * time.Hour})
		hctx, _, err := c.Claim(ctx, msg("web-1"))
		require.NoError(t, err)
		require.NoError(t, c.Done(hctx, msg("web-1")))
		clk.Advance(23 * time.Hour)
		hctx, _, err = c.Claim(ctx, msg("web-2"))
		require.NoError(t, err)
		require.NoError(t, c.Done(hctx, msg("web-2")))
		clk.Advance(2 * time.Hour)
		n, err := c.Purge(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
	})
}

// TestClaimRenewedWhileHandled: a message handled for longer than the stale
// time (a long command) is not taken over while its replica lives.
func TestClaimRenewedWhileHandled(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := t.Context()
		clk := clock.NewFake(t0)
		a := New(st.DB(), Options{Holder: "a", Clock: clk, Stale: 30 * time.Second})
		b := New(st.DB(), Options{Holder: "b", Clock: clk, Stale: 30 * time.Second})
		hctx, mine, err := a.Claim(ctx, msg("web-1"))
		require.NoError(t, err)
		require.True(t, mine)
		claimedAt := func() int64 {
			var at int64
			require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT claimed FROM inbound_claims WHERE message_id = 'web-1'`).Scan(&at))
			return at
		}
		for i := range 12 { // two minutes, 10 s at a time
			require.Eventually(t, func() bool { return clk.Waiters() > 0 }, 5*time.Second, time.Millisecond)
			clk.Advance(10 * time.Second)
			want := t0.Add(time.Duration(i+1) * 10 * time.Second).UnixMilli()
			require.Eventually(t, func() bool { return claimedAt() == want }, 5*time.Second, time.Millisecond, "renewed")
			_, mine, err := b.Claim(ctx, msg("web-1"))
			require.NoError(t, err)
			require.False(t, mine, "still handled by a after %ds", (i+1)*10)
		}
		require.NoError(t, a.Done(hctx, msg("web-1")))
		clk.Advance(10 * time.Second)
		time.Sleep(20 * time.Millisecond)
		assert.Equal(t, t0.Add(2*time.Minute).UnixMilli(), claimedAt(), "no renewal after Done")
	})
}
