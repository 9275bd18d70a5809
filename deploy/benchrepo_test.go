package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// newBenchRepo makes a repository with n commits on main (git fast-import,
// so it takes milliseconds).
func newBenchRepo(b *testing.B, n int) string {
	dir := filepath.Join(b.TempDir(), "repo")
	if out, err := exec.Command("git", "init", "--quiet", "--bare", "--initial-branch=main", dir).CombinedOutput(); err != nil {
		b.Fatalf("git init: %v %s", err, out)
	}
	var stream []byte
	for i := 1; i <= n; i++ {
		stream = fmt.Appendf(stream, "commit refs/heads/main\nmark :%d\nauthor A%d <a%d@example.com> %d +0000\ncommitter C <c@example.com> %d +0000\ndata %d\n%s\n",
			i, i%5, i%5, 1700000000+i, 1700000000+i, len(fmt.Sprintf("commit %d", i)), fmt.Sprintf("commit %d", i))
		if i > 1 {
			stream = fmt.Appendf(stream, "from :%d\n", i-1)
		}
		stream = fmt.Appendf(stream, "M 644 inline f.txt\ndata %d\n%d\n\n", len(fmt.Sprint(i))+1, i)
	}
	cmd := exec.Command("git", "--git-dir", dir, "fast-import", "--quiet")
	cmd.Stdin = bytes.NewReader(stream)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("fast-import: %v %s", err, out)
	}
	return dir
}
