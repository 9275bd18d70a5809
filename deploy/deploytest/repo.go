// Package deploytest has what deployment tests share: a real git
// repository built in a temp dir, and a fake GitHub that follows the REST
// API reference (deployments, statuses, combined status, check runs,
// commits, compare, merges, Actions' workflow_dispatch and runs), backed by
// that repository.
package deploytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Author is a commit author.
type Author struct{ Name, Email string }

// Repo is a git working repository in a temp dir.
type Repo struct {
	T   testing.TB
	Dir string

	mu   sync.Mutex
	tick int
}

// NewRepo creates a repository whose default branch is main, with a first
// commit by first.
func NewRepo(t testing.TB, first Author) *Repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is required: %v", err)
		}
		t.Skipf("git is not installed: %v", err)
	}
	r := &Repo{T: t, Dir: filepath.Join(t.TempDir(), "repo")}
	r.Git("init", "--quiet", "--initial-branch=main", r.Dir)
	r.Git("config", "user.name", "opsbot test")
	r.Git("config", "user.email", "test@example.invalid")
	r.Git("config", "commit.gpgsign", "false")
	r.Commit(first, "README", "hello\n", "initial commit")
	return r
}

// Git runs git in the repository and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	r.T.Helper()
	out, err := r.TryGit(args...)
	if err != nil {
		r.T.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TryGit runs git and returns its output and error.
func (r *Repo) TryGit(args ...string) (string, error) {
	if args[0] != "init" {
		args = append([]string{"-C", r.Dir}, args...)
	}
	r.mu.Lock()
	r.tick++
	date := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(r.tick) * time.Minute).Format(time.RFC3339)
	r.mu.Unlock()
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Commit writes file on the current branch and commits it as author; it
// returns the new commit's SHA.
func (r *Repo) Commit(a Author, file, content, msg string) string {
	r.T.Helper()
	if err := os.WriteFile(filepath.Join(r.Dir, file), []byte(content), 0o644); err != nil {
		r.T.Fatal(err)
	}
	r.Git("add", "--", file)
	r.Git("-c", "user.name="+a.Name, "-c", "user.email="+a.Email, "commit", "--quiet", "--author", fmt.Sprintf("%s <%s>", a.Name, a.Email), "-m", msg)
	return r.Head()
}

// Head is the current commit.
func (r *Repo) Head() string { r.T.Helper(); return r.Git("rev-parse", "HEAD") }

// SHA is the commit ref names.
func (r *Repo) SHA(ref string) string { r.T.Helper(); return r.Git("rev-parse", ref+"^{commit}") }

// Checkout switches branch, creating it from the current commit when create is set.
func (r *Repo) Checkout(branch string, create bool) {
	r.T.Helper()
	if create {
		r.Git("checkout", "--quiet", "-b", branch)
		return
	}
	r.Git("checkout", "--quiet", branch)
}
