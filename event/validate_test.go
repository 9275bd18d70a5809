package event

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 987654321, time.FixedZone("CET", 3600))
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name  string
		in    Event
		want  []string // field errors, "" for valid
		check func(t *testing.T, e Event)
	}{
		{name: "defaults", in: Event{Tag: "deploy.finished", Text: "\n  api 1.2 is live  \nmore"},
			check: func(t *testing.T, e Event) {
				require.Equal(t, Info, e.Severity)
				require.Equal(t, Firing, e.Status)
				require.Equal(t, "api 1.2 is live", e.Title, "the title defaults to the text's first line")
				require.Equal(t, time.Date(2026, 11, 22, 8, 0, 0, 987000000, time.UTC), e.Time, "now, UTC, to the ms")
			}},
		{name: "case of enums", in: Event{Tag: "a.b", Title: "t", Severity: "CRITICAL", Status: "Resolved"},
			check: func(t *testing.T, e Event) {
				require.Equal(t, Critical, e.Severity)
				require.Equal(t, Resolved, e.Status)
			}},
		{name: "own time kept", in: Event{Tag: "a", Title: "t", Time: time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)},
			check: func(t *testing.T, e Event) {
				require.Equal(t, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), e.Time)
			}},
		{name: "long text gives a cut title", in: Event{Tag: "a", Text: long(300)},
			check: func(t *testing.T, e Event) { require.Equal(t, 200, len([]rune(e.Title))) }},
		{name: "tag missing", in: Event{Title: "t"}, want: []string{"tag: is required (dotted lowercase words, e.g. deploy.finished)"}},
		{name: "tag upper case", in: Event{Tag: "Deploy.Done", Title: "t"},
			want: []string{`tag: "Deploy.Done" is not dotted lowercase words (e.g. deploy.finished, backup.failed)`}},
		{name: "tag empty word", in: Event{Tag: "deploy..done", Title: "t"},
			want: []string{`tag: "deploy..done" is not dotted lowercase words (e.g. deploy.finished, backup.failed)`}},
		{name: "tag with space", in: Event{Tag: "deploy done", Title: "t"},
			want: []string{`tag: "deploy done" is not dotted lowercase words (e.g. deploy.finished, backup.failed)`}},
		{name: "tag too long", in: Event{Tag: long(129), Title: "t"}, want: []string{"tag: is 129 bytes, more than the limit of 128"}},
		{name: "severity", in: Event{Tag: "a", Title: "t", Severity: "urgent"},
			want: []string{`severity: "urgent" is not one of info, warning, critical`}},
		{name: "status", in: Event{Tag: "a", Title: "t", Status: "ok"}, want: []string{`status: "ok" is not one of firing, resolved`}},
		{name: "no title nor text", in: Event{Tag: "a"}, want: []string{"title: a title or a text is required"}},
		{name: "title too long", in: Event{Tag: "a", Title: long(MaxTitle + 1)}, want: []string{"title: is 1025 bytes, more than the limit of 1024"}},
		{name: "text too long", in: Event{Tag: "a", Text: long(MaxText + 1)}, want: []string{"text: is 65537 bytes, more than the limit of 65536"}},
		{name: "text not UTF-8", in: Event{Tag: "a", Text: "\xff"}, want: []string{"text: is not valid UTF-8"}},
		{name: "label name", in: Event{Tag: "a", Title: "t", Labels: map[string]string{"bad name": "v", "ok": "v"}},
			want: []string{`labels.bad name: "bad name" is not a label name (a letter or '_', then letters, digits, '_', '.' or '-'; at most 128)`}},
		{name: "label value", in: Event{Tag: "a", Title: "t", Labels: map[string]string{"host": long(MaxLabelValue + 1)}},
			want: []string{"labels.host: is 1025 bytes, more than the limit of 1024"}},
		{name: "too many labels", in: Event{Tag: "a", Title: "t", Labels: manyMap(MaxLabels + 1)},
			want: []string{"labels: has 65 labels, more than the limit of 64"}},
		{name: "field empty name", in: Event{Tag: "a", Title: "t", Fields: map[string]string{"": "v"}},
			want: []string{"fields: a field name is empty"}},
		{name: "field value", in: Event{Tag: "a", Title: "t", Fields: map[string]string{"Log": long(MaxFieldValue + 1)}},
			want: []string{"fields.Log: is 8193 bytes, more than the limit of 8192"}},
		{name: "too many fields", in: Event{Tag: "a", Title: "t", Fields: manyMap(MaxFields + 1)},
			want: []string{"fields: has 65 fields, more than the limit of 64"}},
		{name: "link not http", in: Event{Tag: "a", Title: "t", Links: []Link{{URL: "https://ok.example"}, {URL: "javascript:alert(1)"}}},
			want: []string{`links[1].url: "javascript:alert(1)" is not an http(s) URL`}},
		{name: "too many links", in: Event{Tag: "a", Title: "t", Links: make([]Link, MaxLinks+1)},
			want: []string{"links: has 17 links, more than the limit of 16"}},
		{name: "room", in: Event{Tag: "a", Title: "t", Room: long(MaxRoom + 1)}, want: []string{"room: is 257 bytes, more than the limit of 256"}},
		{name: "fingerprint", in: Event{Tag: "a", Title: "t", Fingerprint: long(MaxFingerprint + 1)},
			want: []string{"fingerprint: is 257 bytes, more than the limit of 256"}},
		{name: "source", in: Event{Tag: "a", Title: "t", Source: "my source"}, want: []string{`source: "my source" contains white space`}},
		{name: "id", in: Event{Tag: "a", Title: "t", ID: "no/slashes"}, want: []string{`id: "no/slashes" is not 1 to 64 letters, digits, '_' or '-'`}},
		{name: "time before 1970", in: Event{Tag: "a", Title: "t", Time: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
			want: []string{"time: 1960-01-01T00:00:00Z is before 1970"}},
		{name: "several at once", in: Event{Tag: "A", Severity: "x", Status: "y"}, want: []string{
			`tag: "A" is not dotted lowercase words (e.g. deploy.finished, backup.failed)`,
			`severity: "x" is not one of info, warning, critical`, `status: "y" is not one of firing, resolved`,
			"title: a title or a text is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.in
			errs := Normalize(&e, now, "")
			var got []string
			for _, fe := range errs {
				got = append(got, fe.Error())
			}
			require.Equal(t, tc.want, got)
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func manyMap(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m["k"+strings.Repeat("x", i)] = "v"
	}
	return m
}

func TestNormalizeAllNamesTheEvent(t *testing.T) {
	now := time.Now()
	evs := []Event{{Tag: "a", Title: "t"}, {Tag: "a", Title: "t", Severity: "urgent"}}
	err := NormalizeAll(evs, now, false)
	require.True(t, errors.Is(err, ErrInvalid))
	require.EqualError(t, err, `events[1].severity: "urgent" is not one of info, warning, critical`)

	one := []Event{{Tag: "a", Title: "t", Severity: "urgent"}}
	require.EqualError(t, NormalizeAll(one, now, false), `severity: "urgent" is not one of info, warning, critical`)
	require.EqualError(t, NormalizeAll(one, now, true), `events[0].severity: "urgent" is not one of info, warning, critical`)
	var inv *InvalidError
	require.ErrorAs(t, NormalizeAll(one, now, true), &inv)
	require.Equal(t, []FieldError{{Path: "events[0].severity", Msg: `"urgent" is not one of info, warning, critical`}}, inv.Fields)
}

func TestNewID(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	a, b := NewID(at), NewID(at)
	require.Len(t, a, 26)
	require.NotEqual(t, a, b)
	require.Equal(t, a[:10], b[:10], "the first 10 characters are the time")
	require.Less(t, a[:10], NewID(at.Add(time.Millisecond))[:10], "IDs sort by time")
	require.True(t, ValidID(a))
	// The ULID time prefix of this instant (unix ms 1795338000000), as the
	// ULID spec's encoding gives it.
	require.Equal(t, encodeTime(1795338000000), a[:10])
	for _, c := range a {
		require.Contains(t, crockford, string(c))
	}
}

// encodeTime is the ULID spec's 10-character time encoding, written out
// digit by digit as an independent check of NewID's bit shuffling.
func encodeTime(ms uint64) string {
	out := make([]byte, 10)
	for i := 9; i >= 0; i-- {
		out[i] = crockford[ms%32]
		ms /= 32
	}
	return string(out)
}
