package irc

import (
	"testing"

	"github.com/opsbot/opsbot/chat"
)

func TestRenderMarkdownAsIRCCodes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*deploy* of _api_ done", "\x02deploy\x02 of \x1dapi\x1d done"},
		{"run `make test` now", "run \x11make test\x11 now"},
		{"see [the runbook](https://wiki/rb) or https://x", "see the runbook <https://wiki/rb> or https://x"},
		{"- one\n- *two*", "• one\n• \x02two\x02"},
		{"log:\n```\nline 1\n\nline 3\n```", "log:\n\x11line 1\x11\n\n\x11line 3\x11"},
		{"evil\r\nQUIT :bye\x00\x03" + "04red\ttab", "evil\nQUIT :bye04red tab"},
	}
	for _, tt := range tests {
		if got := chat.Render(tt.in, renderer{}); got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, é 日本", "plain text, é 日本"},
		{"a\r\nb", "a\nb"},
		{"nul\x00 and bell\x07 and del\x7f", "nul and bell and del"},
		{"\x02bold\x02 \x0304colour\x0f", "bold 04colour"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSeverityColours(t *testing.T) {
	tests := []struct {
		sev  chat.Severity
		line string
		want string
	}{
		{chat.SeverityCritical, "[CRITICAL] disk full", "\x0304[CRITICAL] disk full"},
		{chat.SeverityWarning, "[WARNING] slow", "\x0307[WARNING] slow"},
		{chat.SeveritySuccess, "deployed", "\x0303deployed"},
		{chat.SeverityInfo, "note", "\x0312note"},
		{chat.SeverityNone, "plain", "plain"},
		// A leading comma or digit would extend the colour code.
		{chat.SeverityCritical, ",5 hosts down", "\x0304\x02\x02,5 hosts down"},
		{chat.SeveritySuccess, "3 hosts up", "\x0303\x02\x023 hosts up"},
	}
	for _, tt := range tests {
		if got := colorLine(tt.line, severityColor(tt.sev)); got != tt.want {
			t.Errorf("%s: colorLine(%q) = %q, want %q", tt.sev, tt.line, got, tt.want)
		}
	}
}

func TestFormattingPrefix(t *testing.T) {
	tests := []struct {
		st   fmtState
		want string
	}{
		{fmtState{}, ""},
		{fmtState{bold: true, mono: true}, "\x02\x11"},
		{fmtState{color: "04"}, "\x0304\x02\x02"},
		{fmtState{color: "04,01", italic: true}, "\x0304,01\x1d"},
	}
	for _, tt := range tests {
		if got := tt.st.prefix(); got != tt.want {
			t.Errorf("%+v.prefix() = %q, want %q", tt.st, got, tt.want)
		}
	}
}

func TestIsBlank(t *testing.T) {
	for line, want := range map[string]bool{"": true, "   ": true, "\x11\x11": true, "\x0304 \x02\x02": true, "a": false, "\x02x\x02": false} {
		if got := isBlank(line); got != want {
			t.Errorf("isBlank(%q) = %v", line, got)
		}
	}
}
