package web

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMarkdownHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"*deploy* done", "<strong>deploy</strong> done"},
		{"a < b & c", "a &lt; b &amp; c"},
		{"`<x>`", "<code>&lt;x&gt;</code>"},
		{"[docs](https://example.com/a?b=1&c=2)", `<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer" target="_blank">docs</a>`},
		{"[x](javascript:alert(1))", "x (javascript:alert(1))"},
		{"[x](data:text/html;base64,PHNjcmlwdD4=)", "x (data:text/html;base64,PHNjcmlwdD4=)"},
		{"[x](//evil.example)", "x (//evil.example)"},
		{"[*b*](https://e.example)", `<a href="https://e.example" rel="noopener noreferrer" target="_blank"><strong>b</strong></a>`},
		{"- one\n- <two>", `<span class="li">• one</span><br><span class="li">• &lt;two&gt;</span>`},
		{"```\n<script>\n```", "<pre><code>&lt;script&gt;</code></pre>"},
	} {
		require.Equal(t, tc.want, string(markdownHTML(tc.in)), tc.in)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/rooms/ops": "/rooms/ops", "": "/", "https://evil.example/": "/", "//evil.example": "/", "/\\evil.example": "/",
	} {
		require.Equal(t, want, safeNext(in), in)
	}
}

func TestVisibleText(t *testing.T) {
	require.Equal(t, "opsbot 12:00\nrestart <api> needs confirmation\nConfirm Cancel",
		visibleText(`<div class="meta">opsbot 12:00</div><div class="text"><code>restart &lt;api&gt;</code> needs confirmation</div>`+
			`<div class="buttons"><button>Confirm</button><button>Cancel</button></div>`))
}
