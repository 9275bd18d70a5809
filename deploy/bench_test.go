package deploy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/store/sqlstore"
)

// BenchmarkCreateFinish is one deployment's bookkeeping: the record and
// its slot taken, then the final status with the slot freed (SQLite).
func BenchmarkCreateFinish(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "", filepath.Join(b.TempDir(), "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	r := NewRecords(st.DB())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := r.Create(ctx, Deployment{App: "api", Env: "staging", Ref: "main", User: "alice", Provider: "shell", Created: t0})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Finish(ctx, d.ID, StatusSuccess, "", t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGitCompare is deploy-status's question on a real repository
// (a mirror of 200 commits, 50 behind).
func BenchmarkGitCompare(b *testing.B) {
	repo := newBenchRepo(b, 200)
	g := NewGit(repo, filepath.Join(b.TempDir(), "mirror.git"))
	ctx := context.Background()
	if err := g.Fetch(ctx); err != nil {
		b.Fatal(err)
	}
	out, err := g.git(ctx, "rev-parse", "main~50")
	if err != nil {
		b.Fatal(err)
	}
	base := strings.TrimSpace(out)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := g.Compare(ctx, base, "main")
		if err != nil || len(c.Ahead) != 50 {
			b.Fatal(err, len(c.Ahead))
		}
	}
}
