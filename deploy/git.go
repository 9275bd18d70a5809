package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Commit is one commit, as history questions need it.
type Commit struct {
	SHA         string `json:"sha"`
	AuthorName  string `json:"author_name"`
	AuthorEmail string `json:"author_email"`
	// AuthorLogin is the author's GitHub login, when GitHub answered.
	AuthorLogin string `json:"author_login,omitempty"`
	Subject     string `json:"subject"`
}

// Short is the commit's abbreviated SHA.
func (c Commit) Short() string { return ShortSHA(c.SHA) }

// ShortSHA abbreviates a commit SHA to 7 characters.
func ShortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Comparison is how head relates to base: Ahead are the commits head has
// that base lacks, Behind those base has that head lacks (newest first).
type Comparison struct {
	Ahead  []Commit
	Behind []Commit
}

// State is "identical", "ahead", "behind" or "diverged", as GitHub's compare says.
func (c Comparison) State() string {
	switch {
	case len(c.Ahead) == 0 && len(c.Behind) == 0:
		return "identical"
	case len(c.Behind) == 0:
		return "ahead"
	case len(c.Ahead) == 0:
		return "behind"
	}
	return "diverged"
}

// ErrUnknownRef is wrapped by Resolve's error for a ref the repository lacks.
var ErrUnknownRef = errors.New("no such branch, tag or commit")

var refRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/+-]*$`)

// ValidRef reports whether ref is safe to hand to git and GitHub: a branch,
// tag or SHA, never an option.
func ValidRef(ref string) bool {
	return len(ref) <= 200 && refRE.MatchString(ref) && !strings.Contains(ref, "..") && !strings.HasSuffix(ref, ".lock")
}

// Git inspects a repository with the git binary, through a mirror clone
// kept in a cache directory and fetched before each question. Every git
// call is an argv; refs are checked with ValidRef first.
type Git struct {
	URL string // where to fetch from (path, file://, git://, ssh, https)
	Dir string // the mirror

	mu sync.Mutex // one fetch at a time
}

// NewGit returns the inspector of the repository at url, mirrored in dir.
func NewGit(url, dir string) *Git { return &Git{URL: url, Dir: dir} }

func (g *Git) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out.String(), nil
}

func (g *Git) git(ctx context.Context, args ...string) (string, error) {
	return g.run(ctx, append([]string{"--git-dir", g.Dir}, args...)...)
}

// Fetch brings the mirror up to date (cloning it the first time).
func (g *Git) Fetch(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, err := os.Stat(filepath.Join(g.Dir, "HEAD")); err != nil {
		if err := os.MkdirAll(filepath.Dir(g.Dir), 0o750); err != nil {
			return fmt.Errorf("git mirror: %w", err)
		}
		_ = os.RemoveAll(g.Dir)
		if _, err := g.run(ctx, "clone", "--mirror", "--quiet", "--", g.URL, g.Dir); err != nil {
			return err
		}
		return nil
	}
	_, err := g.git(ctx, "fetch", "--prune", "--quiet", "--force", "origin")
	return err
}

// Resolve returns the commit SHA ref names (a branch, tag or SHA).
func (g *Git) Resolve(ctx context.Context, ref string) (string, error) {
	if !ValidRef(ref) {
		return "", fmt.Errorf("%q: %w", ref, ErrUnknownRef)
	}
	out, err := g.git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%q: %w", ref, ErrUnknownRef)
	}
	return strings.TrimSpace(out), nil
}

// Compare says how head relates to base.
func (g *Git) Compare(ctx context.Context, base, head string) (Comparison, error) {
	var c Comparison
	var err error
	if c.Ahead, err = g.log(ctx, base+".."+head); err != nil {
		return c, err
	}
	if c.Behind, err = g.log(ctx, head+".."+base); err != nil {
		return c, err
	}
	return c, nil
}

// IsAncestor reports whether commit a is an ancestor of (or equal to) b.
func (g *Git) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := g.git(ctx, "merge-base", "--is-ancestor", a, b)
	if err == nil {
		return true, nil
	}
	if strings.HasSuffix(err.Error(), "exit status 1") {
		return false, nil // not an ancestor; 128 and others are errors
	}
	return false, err
}

func (g *Git) log(ctx context.Context, rng string) ([]Commit, error) {
	out, err := g.git(ctx, "log", "--no-merges", "--format=%H%x1f%an%x1f%ae%x1f%s%x1e", rng, "--")
	if err != nil {
		return nil, err
	}
	var cs []Commit
	for _, rec := range strings.Split(out, "\x1e") {
		rec = strings.TrimSpace(rec)
		if rec == "" {
			continue
		}
		f := strings.SplitN(rec, "\x1f", 4)
		if len(f) != 4 {
			return nil, fmt.Errorf("git log: unexpected record %q", rec)
		}
		cs = append(cs, Commit{SHA: f[0], AuthorName: f[1], AuthorEmail: f[2], Subject: f[3]})
	}
	return cs, nil
}

// Checkout makes a working copy of sha in dir (which must not exist).
func (g *Git) Checkout(ctx context.Context, sha, dir string) error {
	if !ValidRef(sha) {
		return fmt.Errorf("%q: %w", sha, ErrUnknownRef)
	}
	if _, err := g.run(ctx, "clone", "--quiet", "--no-checkout", "--", g.Dir, dir); err != nil {
		return err
	}
	_, err := g.run(ctx, "-C", dir, "checkout", "--quiet", "--detach", sha)
	return err
}

// Count is how many commits a comparison lists ("3 commits").
func Count(n int) string {
	if n == 1 {
		return "1 commit"
	}
	return strconv.Itoa(n) + " commits"
}
