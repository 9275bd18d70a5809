package outbox

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store/sqlstore"
)

// BenchmarkThroughput measures posts through the outbox to a chat with no
// rate limit, on SQLite (WAL, synchronous=NORMAL) in a file, on the real
// clock: each post written, claimed, delivered and marked sent.
//
//   - post: one caller posting and waiting for each delivery, in one room
//     (the bot answering a command);
//   - enqueue: 16 writers across 16 rooms, not waiting, then every post
//     awaited (an alert flood).
func BenchmarkThroughput(b *testing.B) {
	for _, bc := range []struct {
		name  string
		rooms int
		wait  bool
	}{{"post/1room", 1, true}, {"enqueue/16rooms", 16, false}} {
		b.Run(bc.name, func(b *testing.B) {
			st, err := sqlstore.Open(b.Context(), "", filepath.Join(b.TempDir(), "data"))
			require.NoError(b, err)
			defer st.Close()
			require.NoError(b, st.Migrate(b.Context()))
			fc := newFakeChat(clock.Real{})
			o := New(Options{DB: st.DB(), Dialect: st.Dialect(), Sender: chat.NewSender(fc),
				Config: Config{Limits: map[string]Limit{"fake": {}}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			require.NoError(b, o.Start(b.Context()))
			defer o.Stop(b.Context())
			b.ReportAllocs()
			b.ResetTimer()
			began := time.Now()
			if bc.wait {
				for i := range b.N {
					if _, err := o.Post(b.Context(), room("ops"), chat.Post{Text: fmt.Sprint("post ", i)}); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				refs := make([][]chat.Ref, bc.rooms)
				var wg sync.WaitGroup
				for r := range bc.rooms {
					wg.Go(func() {
						for i := r; i < b.N; i += bc.rooms {
							ref, err := o.Enqueue(b.Context(), room(fmt.Sprint("r", r)), chat.Post{Text: fmt.Sprint("alert ", i)})
							if err != nil {
								b.Error(err)
								return
							}
							refs[r] = append(refs[r], ref)
						}
					})
				}
				wg.Wait()
				for _, rs := range refs {
					for _, ref := range rs {
						if _, err := o.Wait(b.Context(), ref); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "posts/s")
			if n := len(fc.delivered()); n != b.N {
				b.Fatalf("%d of %d posts delivered", n, b.N)
			}
		})
	}
}
