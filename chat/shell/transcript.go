package shell

import (
	"regexp"
	"strings"
)

// Printed is one post as the shell printed it.
type Printed struct {
	Room   string
	Thread string // the thread's root post ID; "" outside threads
	ID     string // the post's ID (of the post edited, when Edited)
	Text   string // all the post's lines, without the indentation
	Edited bool
}

var header = regexp.MustCompile(`^(?:\(edited #([^)\s]+)\) )?\[(.+?)(?: #([^\]\s]+))?\] ([^\s:]+):(?: (.*))?$`)

// ParseTranscript reads the shell's output back into the posts it printed,
// in order; an edit is an entry of its own with Edited set. The shell's own
// lines ("* …"), prompts and anything else are skipped.
func ParseTranscript(out string) []Printed {
	var posts []Printed
	open := false // the last line belonged to a post, so indented lines continue it
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if rest, ok := strings.CutPrefix(line, "  "); ok && open {
			posts[len(posts)-1].Text += "\n" + rest
			continue
		}
		m := header.FindStringSubmatch(line)
		if m == nil {
			open = false
			continue
		}
		p := Printed{ID: m[1], Room: m[2], Thread: m[3], Text: m[5], Edited: m[1] != ""}
		if !p.Edited {
			i := strings.LastIndex(p.Text, "(#")
			if i < 0 || !strings.HasSuffix(p.Text, ")") {
				open = false
				continue
			}
			p.ID = p.Text[i+2 : len(p.Text)-1]
			p.Text = strings.TrimSuffix(p.Text[:i], " ")
		}
		posts = append(posts, p)
		open = true
	}
	return posts
}

// Seen applies the edits in posts and returns what a person in room sees:
// the text of each post, in order.
func Seen(posts []Printed, room string) []string {
	var texts []string
	index := map[string]int{}
	for _, p := range posts {
		if p.Room != room {
			continue
		}
		if i, ok := index[p.ID]; ok && p.Edited {
			texts[i] = p.Text
			continue
		}
		index[p.ID] = len(texts)
		texts = append(texts, p.Text)
	}
	return texts
}
