package irc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/chat"
)

// BenchmarkLines renders a 20 KB Markdown post (200 lines, formatting, some
// lines past the limit) into the PRIVMSG lines it is sent as.
func BenchmarkLines(b *testing.B) {
	var lines []string
	for i := range 200 {
		line := fmt.Sprintf("- *step %03d* done on `host-%d`: héllo wörld, 日本語, the quick brown fox", i, i)
		if i%20 == 0 {
			line += strings.Repeat(" and a long tail", 40)
		}
		lines = append(lines, line)
	}
	p := chat.Post{Text: strings.Join(lines, "\n"), Severity: chat.SeverityWarning}
	a := &Adapter{cfg: Config{Format: "irc", User: "opsbot"}}
	s := &session{nick: "opsbot"}
	b.SetBytes(int64(len(p.Text)))
	b.ReportAllocs()
	for b.Loop() {
		if out := a.lines(p, "", s, "#ops"); len(out) < 200 {
			b.Fatalf("%d lines", len(out))
		}
	}
}
