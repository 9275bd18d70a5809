package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// Posts written concurrently to several rooms reach each room in the order
// they were written (id order), each exactly once.
func TestOrderPerRoomUnderConcurrency(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		o := newOutbox(t, st, clk, Config{}, fc)
		start(t, o)

		const writers, each = 6, 20
		rooms := []string{"a", "b", "c"}
		var (
			mu    sync.Mutex
			order = map[string][]string{} // room → texts in id order
			ids   = map[string]int64{}
			refs  []chat.Ref
			wg    sync.WaitGroup
		)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					r := rooms[(w+i)%len(rooms)]
					txt := text(fmt.Sprintf("w%d", w), i)
					ref, err := o.Enqueue(t.Context(), room(r), chat.Post{Text: txt})
					require.NoError(t, err)
					id, ok := rowID(ref.ID)
					require.True(t, ok, ref.ID)
					mu.Lock()
					ids[txt] = id
					refs = append(refs, ref)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, ref := range refs {
			got, err := o.Wait(t.Context(), ref)
			require.NoError(t, err)
			require.False(t, strings.HasPrefix(got.ID, refPrefix), "a delivered Ref names the chat's post")
		}
		for txt, id := range ids {
			_ = id
			r := rooms[0]
			for _, x := range rooms {
				if strings.Contains(strings.Join(fc.inRoom(x), " "), txt) {
					r = x
				}
			}
			order[r] = append(order[r], txt)
		}
		total := 0
		for _, r := range rooms {
			got := fc.inRoom(r)
			total += len(got)
			for i := 1; i < len(got); i++ {
				require.Less(t, ids[got[i-1]], ids[got[i]], "room %s: %s delivered before %s", r, got[i-1], got[i])
			}
			require.Len(t, got, len(order[r]), "room %s: each post once", r)
		}
		require.Equal(t, writers*each, total)
		require.Equal(t, writers*each, o.count("fake", "sent"))
		require.Zero(t, value(t, o.metrics.depth, nil))
		require.Equal(t, uint64(writers*each), histogramCount(t, o, "fake"))
	})
}

// A chat limited to one post a second per room gets no more, while another
// room is served meanwhile; an adapter-wide limit spaces posts across rooms.
func TestRateLimit(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		t.Run("per room", func(t *testing.T) {
			clk := clock.NewFake(t0)
			fc := newFakeChat(clk)
			o := newOutbox(t, st, clk, Config{Limits: map[string]Limit{"fake": {RoomRate: 1, RoomBurst: 2}}}, fc)
			sends := recordSends(o)
			start(t, o)
			for i := range 6 {
				for _, r := range []string{"slow1", "slow2"} {
					_, err := o.Enqueue(t.Context(), room(r), chat.Post{Text: text(r, i)})
					require.NoError(t, err)
				}
			}
			advanceUntil(t, clk, 10*time.Millisecond, func() bool { return len(fc.delivered()) == 12 })
			at := map[string][]time.Time{}
			var last time.Time
			for _, s := range sends() {
				at[s.room] = append(at[s.room], s.at)
				last = s.at
			}
			for r, times := range at {
				require.Len(t, times, 6)
				requireWithin(t, times, 1, 2, "room "+r)
			}
			// The rooms were served side by side: 6 posts each at 1/s after a
			// burst of 2 take 4 s (plus the test's clock steps), not 10.
			require.GreaterOrEqual(t, last.Sub(t0), 4*time.Second)
			require.Less(t, last.Sub(t0), 8*time.Second)
		})
		t.Run("per adapter", func(t *testing.T) {
			clk := clock.NewFake(t0)
			fc := newFakeChat(clk)
			fc.name = "limited"
			// The chat states its limit itself.
			lc := declaringChat{fakeChat: fc, limits: chat.RateLimits{AdapterRate: 2, AdapterBurst: 1}}
			o := newOutbox(t, st, clk, Config{Limits: map[string]Limit{}}, lc)
			sends := recordSends(o)
			start(t, o)
			for i := range 8 {
				_, err := o.Enqueue(t.Context(), chat.Room{Adapter: "limited", ID: fmt.Sprint("r", i%4)}, chat.Post{Text: text("x", i)})
				require.NoError(t, err)
			}
			advanceUntil(t, clk, 10*time.Millisecond, func() bool { return len(fc.delivered()) == 8 })
			var times []time.Time
			for _, s := range sends() {
				times = append(times, s.at)
			}
			requireWithin(t, times, 2, 1, "adapter")
			require.GreaterOrEqual(t, times[7].Sub(times[0]), 3500*time.Millisecond)
		})
	})
}

// A chat that fails three times then recovers gets the post on the fourth
// try, after backoffs of 1, 2 and 4 seconds; the caller waited for it.
func TestRetryWithBackoffThenRecover(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		fc.script = func(n int, _ chat.Post) error {
			if n <= 3 {
				return errors.New("502 bad gateway")
			}
			return nil
		}
		o := newOutbox(t, st, clk, Config{Backoff: time.Second, MaxBackoff: 3 * time.Second}, fc)
		start(t, o)
		got := make(chan error, 1)
		go func() {
			ref, err := o.Post(t.Context(), room("ops"), chat.Post{Text: "deploy finished"})
			if err == nil && ref.ID != "1" {
				err = fmt.Errorf("ref %+v", ref)
			}
			got <- err
		}()
		advanceUntil(t, clk, 5*time.Millisecond, func() bool { return len(fc.delivered()) == 1 })
		require.NoError(t, <-got)
		tries := fc.tries()
		require.Len(t, tries, 4)
		// Backoff doubles from 1 s and is capped at 3 s (TestBackoff checks
		// the delays exactly; the upper bound here leaves room for the test
		// moving the fake clock on while the outbox works).
		for i, want := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
			gap := tries[i+1].Sub(tries[i])
			require.GreaterOrEqual(t, gap, want, "retry %d", i+1)
			require.Less(t, gap, want+2*time.Second, "retry %d", i+1)
		}
		require.Equal(t, 3, o.count("fake", "retried"))
		require.Equal(t, 1, o.count("fake", "sent"))
		e, err := o.Entry(t.Context(), 1)
		require.NoError(t, err)
		require.Equal(t, StateSent, e.State)
		require.Equal(t, 4, e.Attempts)
		require.Equal(t, 3, e.Errors)
	})
}

// A 429 with Retry-After holds the post for that long, and does not count
// as a failure: more refusals than MaxAttempts still end in delivery.
func TestRateLimitedByChatHonoursRetryAfter(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		fc.script = func(n int, _ chat.Post) error {
			if n <= 3 {
				return fmt.Errorf("slack: chat.postMessage: %w", &chat.RateLimitError{RetryAfter: 30 * time.Second, Err: errors.New("ratelimited")})
			}
			return nil
		}
		o := newOutbox(t, st, clk, Config{MaxAttempts: 2}, fc)
		start(t, o)
		ref, err := o.Enqueue(t.Context(), room("ops"), chat.Post{Text: "alert"})
		require.NoError(t, err)
		advanceUntil(t, clk, 100*time.Millisecond, func() bool { return len(fc.delivered()) == 1 })
		_, err = o.Wait(t.Context(), ref)
		require.NoError(t, err)
		tries := fc.tries()
		require.Len(t, tries, 4)
		for i := 1; i < len(tries); i++ {
			require.GreaterOrEqual(t, tries[i].Sub(tries[i-1]), 30*time.Second, "try %d came before Retry-After", i+1)
			require.Less(t, tries[i].Sub(tries[i-1]), 45*time.Second, "try %d", i+1)
		}
		require.Equal(t, 3, o.count("fake", "retried"))
		require.Zero(t, o.count("fake", "failed"))
		id, _ := rowID(ref.ID)
		e, err := o.Entry(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, 0, e.Errors)
		require.Equal(t, 4, e.Attempts)
	})
}

// A permanent error fails the post at once; repeated errors fail it after
// MaxAttempts. Failed posts are counted, listed and requeueable, and the
// room's later posts are not held up by them.
func TestFailedPostsAreKeptAndCounted(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		var broken sync.Map
		fc.script = func(_ int, p chat.Post) error {
			if _, ok := broken.Load(p.Text); ok {
				if strings.HasPrefix(p.Text, "perm") {
					return fmt.Errorf("%w: channel_not_found", chat.ErrPermanent)
				}
				return errors.New("connection reset")
			}
			return nil
		}
		broken.Store("permanent", true)
		broken.Store("flaky", true)
		o := newOutbox(t, st, clk, Config{MaxAttempts: 3, Backoff: time.Second}, fc)
		start(t, o)

		_, err := o.Post(t.Context(), room("ops"), chat.Post{Text: "permanent"})
		require.ErrorIs(t, err, ErrFailed)
		require.ErrorIs(t, err, chat.ErrPermanent)
		require.Len(t, fc.tries(), 1, "a permanent error is not retried")

		flaky, err := o.Enqueue(t.Context(), room("ops"), chat.Post{Text: "flaky"})
		require.NoError(t, err)
		after, err := o.Enqueue(t.Context(), room("ops"), chat.Post{Text: "after"})
		require.NoError(t, err)
		advanceUntil(t, clk, 200*time.Millisecond, func() bool { return len(fc.delivered()) == 1 })
		_, err = o.Wait(t.Context(), flaky)
		require.ErrorIs(t, err, ErrFailed)
		require.ErrorContains(t, err, "connection reset")
		_, err = o.Wait(t.Context(), after)
		require.NoError(t, err)
		require.Equal(t, []string{"after"}, fc.inRoom("ops"))
		require.Len(t, fc.tries(), 1+3+1)

		require.Equal(t, 2, o.count("fake", "failed"))
		require.Equal(t, 2, o.count("fake", "retried"))
		require.Zero(t, value(t, o.metrics.depth, nil))
		failed, err := o.Failed(t.Context(), 0)
		require.NoError(t, err)
		require.Len(t, failed, 2)
		require.Equal(t, "flaky", failed[0].Post.Text)
		require.Equal(t, 3, failed[0].Errors)
		require.Contains(t, failed[0].Error, "connection reset")
		require.Equal(t, "permanent", failed[1].Post.Text)
		require.Contains(t, failed[1].Error, "channel_not_found")
		require.Equal(t, room("ops"), failed[1].Room)

		// Fixed: requeue it.
		broken.Delete("flaky")
		ok, err := o.Requeue(t.Context(), failed[0].ID)
		require.NoError(t, err)
		require.True(t, ok)
		_, err = o.Wait(t.Context(), chat.Ref{Room: room("ops"), ID: refPrefix + fmt.Sprint(failed[0].ID)})
		require.NoError(t, err)
		require.Equal(t, []string{"after", "flaky"}, fc.inRoom("ops"))
		ok, err = o.Requeue(t.Context(), failed[0].ID)
		require.NoError(t, err)
		require.False(t, ok, "a delivered post is not requeued")
	})
}

// Posts queued by one process, including ones it had in flight when it
// died, are delivered by the next: none lost, per-room order kept, the ones
// in flight possibly twice (counted).
func TestRestartRecovery(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		// The first process: its chat hangs, as if the process froze mid-delivery.
		clkA := clock.NewFake(t0)
		hung := newFakeChat(clkA)
		hung.block, hung.inFlight = make(chan struct{}), make(chan string, 2)
		a := newOutbox(t, st, clkA, Config{}, hung)
		const n = 40
		for i := range n {
			r := []string{"x", "y"}[i%2]
			_, err := a.Enqueue(t.Context(), room(r), chat.Post{Text: text(r, i)})
			require.NoError(t, err)
		}
		start(t, a)
		inFlight := []string{<-hung.inFlight, <-hung.inFlight}
		t.Cleanup(func() {
			// Let the frozen process go, stopped, so it can't deliver more.
			go func() { _ = a.Stop(context.Background()) }()
			close(hung.block)
		})

		// The next process, on the same database.
		clkB := clock.NewFake(t0)
		fc := newFakeChat(clkB)
		b := newOutbox(t, st, clkB, Config{}, fc)
		start(t, b)
		// SQLite: B takes over at once. PostgreSQL (replicas): when A's lease runs out.
		advanceUntil(t, clkB, 10*time.Second, func() bool { return len(fc.delivered()) == n })
		for _, r := range []string{"x", "y"} {
			var want []string
			for i := range n {
				if []string{"x", "y"}[i%2] == r {
					want = append(want, text(r, i))
				}
			}
			require.Equal(t, want, fc.inRoom(r), "room %s: all posts, in order", r)
		}
		require.Equal(t, 2, int(value(t, b.metrics.redelivered, map[string]string{"adapter": "fake"})))
		t.Logf("%d posts queued across a crash: 0 lost; %d in flight at the crash delivered again (possible duplicates): %v",
			n, len(inFlight), inFlight)
		if st.Dialect() == "postgres" {
			require.GreaterOrEqual(t, clkB.Now().Sub(t0), 2*time.Minute, "A's claims held until their lease ran out")
		}
	})
}

// A post over the chat's limit is split by the Sender; its parts arrive
// together and in order, though other posts to the room are written meanwhile.
func TestSplitPostStaysTogether(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		lc := limitedChat{fakeChat: fc, max: 40}
		o := newOutbox(t, st, clk, Config{}, lc)
		start(t, o)
		var words []string
		for i := range 60 {
			words = append(words, fmt.Sprintf("word%02d", i))
		}
		long := strings.Join(words, " ")
		var wg sync.WaitGroup
		var refs []chat.Ref
		var mu sync.Mutex
		for g := range 4 {
			wg.Go(func() {
				for i := range 5 {
					p := chat.Post{Text: text(fmt.Sprint("short", g), i)}
					if g == 0 && i == 2 {
						p.Text = long
					}
					ref, err := o.Enqueue(t.Context(), room("ops"), p)
					require.NoError(t, err)
					mu.Lock()
					refs = append(refs, ref)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, ref := range refs {
			_, err := o.Wait(t.Context(), ref)
			require.NoError(t, err)
		}
		got := fc.inRoom("ops")
		first, last := -1, -1
		for i, s := range got {
			if strings.HasPrefix(s, "word") {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		require.GreaterOrEqual(t, first, 0)
		parts := got[first : last+1]
		require.Greater(t, len(parts), 5, "the long post was split")
		for _, p := range parts {
			require.LessOrEqual(t, len(p), 40)
			require.True(t, strings.HasPrefix(p, "word"), "a short post came between the parts: %q", parts)
		}
		require.Equal(t, words, strings.Fields(strings.Join(parts, " ")), "parts in order")
		require.Len(t, got, 19+len(parts))
	})
}

// PostInThread and Update on a post not yet delivered (a provisional Ref)
// wait for it and use its real Ref; if it failed, the reply goes to the room.
func TestThreadUnderPendingParent(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		fc.script = func(_ int, p chat.Post) error {
			if p.Text == "doomed" {
				return chat.ErrPermanent
			}
			return nil
		}
		o := newOutbox(t, st, clk, Config{}, fc)
		// Not started: everything stays queued, as while the chat is away.
		parent, err := o.Enqueue(t.Context(), room("ops"), chat.Post{Text: "deploy api #42"})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(parent.ID, refPrefix))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err = o.PostInThread(ctx, parent, chat.Post{Text: "step 1 done"})
		cancel()
		require.ErrorIs(t, err, ErrNotDelivered)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		doomed, err := o.Enqueue(t.Context(), room("ops"), chat.Post{Text: "doomed"})
		require.NoError(t, err)
		require.Equal(t, 3.0, value(t, o.metrics.depth, nil), "three posts queued")

		start(t, o)
		reply, err := o.PostInThread(t.Context(), parent, chat.Post{Text: "step 2 done"})
		require.NoError(t, err)
		edited, err := o.Update(t.Context(), parent, chat.Post{Text: "deploy api #42: done"})
		require.NoError(t, err)
		orphan, err := o.PostInThread(t.Context(), doomed, chat.Post{Text: "orphan"})
		require.NoError(t, err)

		require.Equal(t, chat.Ref{Room: room("ops"), ID: "3", Thread: "1"}, reply)
		require.Equal(t, "1", edited.ID)
		require.Empty(t, orphan.Thread)
		require.Equal(t, []delivered{
			{Room: "ops", ID: "1", Text: "deploy api #42"},
			{Room: "ops", ID: "2", Thread: "1", Text: "step 1 done"},
			{Room: "ops", ID: "3", Thread: "1", Text: "step 2 done"},
			{Room: "ops", ID: "1", Text: "deploy api #42: done", Edit: true},
			{Room: "ops", ID: "5", Text: "orphan"},
		}, withoutTimes(fc.delivered()))
	})
}

// requireWithin checks that times (sorted) keep to a token bucket of rate
// per second and burst: any span from times[j] to times[i] holds at most
// burst + rate × its length posts.
func requireWithin(t *testing.T, times []time.Time, rate float64, burst int, what string) {
	t.Helper()
	for i := range times {
		for j := range i {
			n := float64(i - j + 1)
			allowed := float64(burst) + rate*times[i].Sub(times[j]).Seconds()
			require.LessOrEqual(t, n, allowed+1e-9, "%s: posts %d to %d within %s", what, j, i, times[i].Sub(times[j]))
		}
	}
}

type send struct {
	room string
	at   time.Time
}

// recordSends records when o took each post's rate-limit token, on its
// clock: the time the limit is about (the chat sees the post a delivery's
// length later, while the test moves the fake clock on).
func recordSends(o *Outbox) func() []send {
	var mu sync.Mutex
	var sends []send
	o.onSend = func(k roomKey, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		sends = append(sends, send{k.room, at})
	}
	return func() []send {
		mu.Lock()
		defer mu.Unlock()
		return append([]send(nil), sends...)
	}
}

func withoutTimes(ds []delivered) []delivered {
	for i := range ds {
		ds[i].At = time.Time{}
	}
	return ds
}

func histogramCount(t *testing.T, o *Outbox, adapter string) uint64 {
	t.Helper()
	var n uint64
	gather(t, o.metrics.delivery, func(labels map[string]string, _ float64, samples uint64) {
		if labels["adapter"] == adapter {
			n += samples
		}
	})
	return n
}

// Stop first delivers what is due (a last reply written just before), then
// stops; a post held by a backoff stays queued for the next start.
func TestStopDrainsWhatIsDue(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		fc.script = func(_ int, p chat.Post) error {
			if p.Text == "held" {
				return errors.New("timeout")
			}
			return nil
		}
		o := newOutbox(t, st, clk, Config{}, fc)
		o.drain = 10 * time.Second
		start(t, o)
		held, err := o.Enqueue(t.Context(), room("other"), chat.Post{Text: "held"})
		require.NoError(t, err)
		waitFor(t, func() bool { return len(fc.tries()) == 1 })
		for i := range 20 {
			_, err := o.Enqueue(t.Context(), room("ops"), chat.Post{Text: text("last", i)})
			require.NoError(t, err)
		}
		stopCtx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		began := time.Now()
		require.NoError(t, o.Stop(stopCtx))
		require.Len(t, fc.inRoom("ops"), 20, "every due post delivered before Stop returned")
		require.Empty(t, fc.inRoom("other"))
		require.Less(t, time.Since(began), o.drain, "a post in backoff doesn't hold Stop")
		id, _ := rowID(held.ID)
		e, err := o.Entry(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, StateQueued, e.State, "left for the next start")
	})
}

// A process delivers only through the adapters it has: a post to another is
// refused as the Sender would, and the queued posts of another process's
// adapters (sharing the database) are left to it.
func TestOtherAdaptersPostsAreLeftAlone(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		slack := newFakeChat(clk)
		slack.name = "slack"
		server := newOutbox(t, st, clk, Config{}, slack)
		queued, err := server.Enqueue(t.Context(), chat.Room{Adapter: "slack", ID: "C1"}, chat.Post{Text: "for slack"})
		require.NoError(t, err)

		fc := newFakeChat(clk)
		shell := newOutbox(t, st, clk, Config{}, fc)
		start(t, shell)
		_, err = shell.Post(t.Context(), chat.Room{Adapter: "slack", ID: "C1"}, chat.Post{Text: "x"})
		require.ErrorIs(t, err, chat.ErrUnknownAdapter)
		_, err = shell.Post(t.Context(), room("ops"), chat.Post{Text: "for the shell"})
		require.NoError(t, err)
		// A whole poll ran, and left it.
		advanceUntil(t, clk, time.Second, func() bool { return shell.polls.Load() >= 2 })
		id, _ := rowID(queued.ID)
		e, err := shell.Entry(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, StateQueued, e.State)
		require.Empty(t, slack.delivered())
		require.Equal(t, 1.0, value(t, shell.metrics.depth, nil), "the depth counts it")

		start(t, server)
		_, err = server.Wait(t.Context(), queued)
		require.NoError(t, err)
		require.Len(t, slack.delivered(), 1)
	})
}

// A chat that doesn't answer is given up on after the delivery timeout, and
// the post is retried like any failure.
func TestHungDeliveryTimesOutAndIsRetried(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		fc.script = func(n int, _ chat.Post) error {
			if n == 1 {
				return errHang
			}
			return nil
		}
		o := newOutbox(t, st, clk, Config{}, fc)
		o.timeout = 50 * time.Millisecond
		start(t, o)
		ref, err := o.Enqueue(t.Context(), room("ops"), chat.Post{Text: "hello"})
		require.NoError(t, err)
		advanceUntil(t, clk, 100*time.Millisecond, func() bool { return len(fc.delivered()) == 1 })
		_, err = o.Wait(t.Context(), ref)
		require.NoError(t, err)
		id, _ := rowID(ref.ID)
		e, err := o.Entry(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, 1, e.Errors)
		require.Equal(t, 1, o.count("fake", "retried"))
		require.Zero(t, value(t, o.metrics.redelivered, nil), "a timed-out delivery is a failure, not a crash")
	})
}

// A Post whose context ends while the post is being sent waits for that
// delivery and returns its Ref (a job stopped just as it posted still gets
// its thread); one whose context ends while it is queued gets a provisional Ref.
func TestPostContextEndsDuringDelivery(t *testing.T) {
	forEachDB(t, func(t *testing.T, st *sqlstore.Store) {
		clk := clock.NewFake(t0)
		fc := newFakeChat(clk)
		fc.block, fc.inFlight = make(chan struct{}), make(chan string, 1)
		o := newOutbox(t, st, clk, Config{}, fc)
		start(t, o)
		ctx, cancel := context.WithCancel(t.Context())
		type outcome struct {
			ref chat.Ref
			err error
		}
		got := make(chan outcome, 1)
		go func() {
			ref, err := o.Post(ctx, room("ops"), chat.Post{Text: "started job #1"})
			got <- outcome{ref, err}
		}()
		require.Equal(t, "started job #1", <-fc.inFlight)
		cancel()
		close(fc.block)
		r := <-got
		require.NoError(t, r.err)
		require.Equal(t, "1", r.ref.ID)

		// Queued behind a backoff: the provisional Ref.
		fc.mu.Lock()
		fc.block, fc.inFlight = nil, nil
		fc.script = func(int, chat.Post) error { return errors.New("down") }
		fc.mu.Unlock()
		ctx, cancel = context.WithCancel(t.Context())
		go func() {
			ref, err := o.Post(ctx, room("ops"), chat.Post{Text: "later"})
			got <- outcome{ref, err}
		}()
		waitFor(t, func() bool { return len(fc.tries()) == 2 })
		cancel()
		r = <-got
		require.ErrorIs(t, r.err, ErrNotDelivered)
		require.True(t, strings.HasPrefix(r.ref.ID, refPrefix), r.ref.ID)
	})
}
