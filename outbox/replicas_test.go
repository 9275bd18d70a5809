package outbox

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store/pgtest"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// TestTwoProcessesDeliverEachPostOnce: two outboxes on one PostgreSQL (two
// replicas) race for the heads of the same rooms; every post reaches the
// chat exactly once and in order. (A claim that lost the race used to be
// re-checked against the row its rival had just marked sent, and deliver
// it again.)
func TestTwoProcessesDeliverEachPostOnce(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), pgtest.Start(t), "")
	require.NoError(t, err)
	require.NoError(t, st.Migrate(t.Context()))
	t.Cleanup(func() { _ = st.Close() })
	clk := clock.Real{}    // each outbox learns of the other's deliveries by polling
	fc := newFakeChat(clk) // one chat, seen by both processes
	a := newOutbox(t, st, clk, Config{}, fc)
	b := newOutbox(t, st, clk, Config{}, fc)
	start(t, a)
	start(t, b)

	const each = 150
	rooms := []string{"a", "b"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var refs []chat.Ref
	for i, o := range []*Outbox{a, b} {
		for _, r := range rooms {
			wg.Go(func() {
				for n := range each {
					ref, err := o.Enqueue(t.Context(), room(r), chat.Post{Text: fmt.Sprintf("p%d-%s-%03d", i, r, n)})
					require.NoError(t, err)
					mu.Lock()
					refs = append(refs, ref)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, ref := range refs {
		_, err := a.Wait(ctx, ref)
		require.NoError(t, err)
	}
	for _, r := range rooms {
		got := fc.inRoom(r)
		seen := map[string]int{}
		for _, txt := range got {
			seen[txt]++
		}
		var twice []string
		for txt, n := range seen {
			if n > 1 {
				twice = append(twice, txt)
			}
		}
		require.Empty(t, twice, "room %s: posts delivered more than once", r)
		require.Len(t, got, 2*each, "room %s: every post", r)
		last := map[string]string{}
		for _, txt := range got {
			writer := txt[:strings.LastIndexByte(txt, '-')]
			require.Greater(t, txt, last[writer], "room %s: a writer's posts in order", r)
			last[writer] = txt
		}
	}
}
