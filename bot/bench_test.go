package bot_test

import (
	"fmt"
	"testing"

	"github.com/opsbot/opsbot/bottest"
)

// BenchmarkHandle measures the whole pipeline for one message on SQLite:
// identity lookup, match, rules, audit append and finish, reply.
func BenchmarkHandle(b *testing.B) {
	tb := bottest.New(b)
	tb.User("alice", "ops")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := tb.Message("alice", "ops", "ping")
		m.ID = fmt.Sprint(i)
		tb.Bot.Handle(tb.Ctx, m)
	}
}
