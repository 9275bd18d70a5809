package chat_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
)

func TestPlain(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain text", "deploy api to production", "deploy api to production"},
		{"bold", "*done* in 3s", "done in 3s"},
		{"italic", "it is _very_ late", "it is very late"},
		{"code", "run `make test` now", "run make test now"},
		{"link", "see [the runbook](https://wiki/rb) first", "see the runbook (https://wiki/rb) first"},
		{"link whose label is its url", "[https://x.io](https://x.io)", "https://x.io"},
		{"list items keep their dash", "- api\n- web", "- api\n- web"},
		{"indented list item", "  - nested", "- nested"},
		{"block", "before:\n```\nls -l\n```\nafter", "before:\nls -l\nafter"},
		{"block with language", "```go\nfmt.Println()\n```", "fmt.Println()"},
		{"one-line block", "```echo hi```", "echo hi"},
		{"markup inside a block is kept", "```\n*not bold* _x_\n```", "*not bold* _x_"},
		{"bold with italic and code inside", "*deploy _api_ `v2`*", "deploy api v2"},
		{"link inside bold", "*see [it](http://a)*", "see it (http://a)"},
		{"snake_case stays", "restart my_app_name", "restart my_app_name"},
		{"arithmetic stays", "2*3*4 = 24", "2*3*4 = 24"},
		{"list bullet with star is not bold", "* a\n* b", "* a\n* b"},
		{"unclosed bold", "a *b c", "a *b c"},
		{"unclosed code", "a `b c", "a `b c"},
		{"unclosed block", "```\nabc", "```\nabc"},
		{"empty code stays", "a `` b", "a `` b"},
		{"emphasis does not span lines", "*a\nb*", "*a\nb*"},
		{"closer before a letter is not a closer", "*a*b c*", "a*b c"},
		{"link needs a url", "[label]() and [x] (y)", "[label]() and [x] (y)"},
		{"url with spaces is no link", "[a](b c)", "[a](b c)"},
		{"unicode around emphasis", "é *日本* ü", "é 日本 ü"},
		{"letter before opener", "é*x*", "é*x*"},
		{"two blocks", "```a```,```b```", "a,b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, chat.Plain(tt.in))
		})
	}
}

// tagRenderer renders every piece visibly, to check what Render calls.
type tagRenderer struct{}

func (tagRenderer) Text(s string) string          { return strings.ReplaceAll(s, "\n", "<br>") }
func (tagRenderer) Bold(inner string) string      { return "<b>" + inner + "</b>" }
func (tagRenderer) Italic(inner string) string    { return "<i>" + inner + "</i>" }
func (tagRenderer) Code(s string) string          { return "<code>" + s + "</code>" }
func (tagRenderer) Block(lang, s string) string   { return "<pre " + lang + ">" + s + "</pre>" }
func (tagRenderer) Link(label, url string) string { return "<a " + url + ">" + label + "</a>" }
func (tagRenderer) ListItem(inner string) string  { return "<li>" + inner + "</li>" }

func TestRender(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"text only", "hello", "hello"},
		{"all inline", "*b* _i_ `c` [l](u)", "<b>b</b> <i>i</i> <code>c</code> <a u>l</a>"},
		{"nested", "*a _b_*", "<b>a <i>b</i></b>"},
		{"label rendered", "[*x*](u)", "<a u><b>x</b></a>"},
		{"code is raw", "`*x*`", "<code>*x*</code>"},
		{"lines", "a\nb", "a<br>b"},
		{"list", "items:\n- *a*\n- b", "items:<br><li><b>a</b></li><br><li>b</li>"},
		{"block with language", "x\n```sh\nls\n```\ny", "x<br><pre sh>ls</pre><br>y"},
		{"block first line is content", "```ls -l\npwd```", "<pre >ls -l\npwd</pre>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, chat.Render(tt.in, tagRenderer{}))
		})
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"fits", "abc", 3, []string{"abc"}},
		{"no limit", strings.Repeat("x", 100), 0, []string{strings.Repeat("x", 100)}},
		{"at lines", "aaa\nbbb\nccc", 7, []string{"aaa\nbbb", "ccc"}},
		{"long line at a space", "hello big world", 10, []string{"hello big ", "world"}},
		{"long line without space", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"runes stay whole", "ééé", 5, []string{"éé", "é"}},
		{"four-byte runes", "😀😀", 5, []string{"😀", "😀"}},
		{"blank lines kept", "a\n\nb\n\nc", 4, []string{"a\n\nb", "\nc"}},
		{"blank parts dropped", "aaaa\n\n\n\nbbbb\n", 4, []string{"aaaa", "bbbb"}},
		{"limit below a rune is raised", "😀😀", 1, []string{"😀", "😀"}},
		{
			"block reopened with its language",
			"```sh\n" + strings.Repeat("echo 0123456789\n", 6) + "```",
			64,
			[]string{
				"```sh\necho 0123456789\necho 0123456789\necho 0123456789\n```",
				"```sh\necho 0123456789\necho 0123456789\necho 0123456789\n```",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, chat.Split(tt.in, tt.max))
		})
	}
}

func TestSplitKeepsEverything(t *testing.T) {
	words := []string{"deploy", "é", "日本語", "😀", "x", "", "a-much-longer-word-than-the-others", "  "}
	fences := append([]string{"```", "```go"}, words...)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 400 {
		withFences := round%2 == 1
		vocabulary := words
		if withFences {
			vocabulary = fences
		}
		var lines []string
		for range rng.IntN(40) {
			var ws []string
			for range rng.IntN(12) {
				ws = append(ws, vocabulary[rng.IntN(len(vocabulary))])
			}
			lines = append(lines, strings.Join(ws, " "))
		}
		text := strings.Join(lines, "\n")
		limit := 4 + rng.IntN(120)
		t.Run(fmt.Sprintf("round %d limit %d", round, limit), func(t *testing.T) {
			parts := chat.Split(text, limit)
			for _, p := range parts {
				require.LessOrEqual(t, len(p), limit, "part %q", p)
				require.True(t, utf8.ValidString(p), "part %q", p)
				if strings.TrimSpace(text) != "" {
					require.NotEmpty(t, strings.TrimSpace(p))
				}
			}
			if !withFences || limit < 64 {
				// Without fences to repair, the parts are the text cut apart.
				require.Equal(t, strip(text), strip(strings.Join(parts, "")))
			}
		})
	}
}

// strip drops the characters Split may consume at part boundaries.
func strip(s string) string { return strings.NewReplacer("\n", "", " ", "").Replace(s) }

func TestSplitClosesEveryBlock(t *testing.T) {
	text := "log:\n```\n" + strings.Repeat("line of output 1234567890\n", 200) + "```\ndone"
	parts := chat.Split(text, 500)
	require.Greater(t, len(parts), 5)
	for i, p := range parts {
		require.LessOrEqual(t, len(p), 500)
		require.Equal(t, 0, strings.Count(p, "```")%2, "part %d has an open block: %q", i, p)
	}
	assert.True(t, strings.HasSuffix(parts[len(parts)-1], "```\ndone"))
}
