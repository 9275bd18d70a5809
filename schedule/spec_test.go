package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// firings lists the next n firings after from.
func firings(s Spec, from time.Time, n int) []time.Time {
	var out []time.Time
	for t := from; len(out) < n; {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

func TestParseForms(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	// Friday 2026-11-20 10:00 in Berlin.
	anchor := time.Date(2026, 11, 20, 10, 0, 0, 0, berlin)
	b := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, berlin) }
	for _, tc := range []struct {
		when string
		want []time.Time
	}{
		{`cron "0 9 * * 1-5"`, []time.Time{b(23, 9, 0), b(24, 9, 0), b(25, 9, 0)}},
		{`0 9 * * 1-5`, []time.Time{b(23, 9, 0), b(24, 9, 0), b(25, 9, 0)}},
		{`cron "30 0 9 * * *"`, []time.Time{b(21, 9, 0).Add(30 * time.Second), b(22, 9, 0).Add(30 * time.Second)}},
		{`every 15m`, []time.Time{b(20, 10, 15), b(20, 10, 30), b(20, 10, 45)}},
		{`every 1d`, []time.Time{b(21, 10, 0), b(22, 10, 0)}},
		{`every weekday at 9:30`, []time.Time{b(23, 9, 30), b(24, 9, 30), b(25, 9, 30), b(26, 9, 30), b(27, 9, 30), b(30, 9, 30)}},
		{`every monday at 10:00`, []time.Time{b(23, 10, 0), b(30, 10, 0)}},
		{`every Monday and Friday at 5pm`, []time.Time{b(20, 17, 0), b(23, 17, 0), b(27, 17, 0)}},
		{`every weekend at 8:00`, []time.Time{b(21, 8, 0), b(22, 8, 0), b(28, 8, 0)}},
		{`every day at 9:30`, []time.Time{b(21, 9, 30), b(22, 9, 30)}},
		{`at 2026-12-01 09:30`, []time.Time{time.Date(2026, 12, 1, 9, 30, 0, 0, berlin)}},
		{`at 17:00`, []time.Time{b(20, 17, 0)}},
		{`at 9:00`, []time.Time{b(21, 9, 0)}},
		{`in 2h`, []time.Time{b(20, 12, 0)}},
		{`in 1d`, []time.Time{b(21, 10, 0)}},
	} {
		t.Run(tc.when, func(t *testing.T) {
			s, err := Parse(tc.when, berlin, anchor)
			require.NoError(t, err)
			got := firings(s, anchor, len(tc.want)+1)
			if _, once := s.(Once); once {
				require.Equal(t, tc.want, got)
				return
			}
			require.Equal(t, tc.want, got[:len(tc.want)])
		})
	}
}

func TestParseErrors(t *testing.T) {
	for when, msg := range map[string]string{
		"":                     "empty",
		"sometimes":            "use cron",
		"every 500ms":          "at least 1s",
		"every weekday":        "say at what time",
		"every funday at 9:00": `"funday" is not a day`,
		"every day at 25:00":   "not a time of day",
		"at tomorrow":          "give a date and time",
		"in soon":              "positive duration",
		`cron "61 * * * *"`:    "cron",
		`cron "0 0 30 2 *"`:    "never fires",
		`cron "@every 5m"`:     "every 15m",
		`TZ=UTC 0 9 * * *`:     "time zone",
	} {
		_, err := Parse(when, time.UTC, time.Now())
		require.ErrorIs(t, err, ErrSyntax, when)
		require.ErrorContains(t, err, msg, when)
	}
}

func TestTimeZones(t *testing.T) {
	anchor := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ loc, wantUTC string }{
		{"UTC", "2026-06-01T09:30:00Z"},
		{"Europe/Berlin", "2026-06-01T07:30:00Z"},
		{"America/New_York", "2026-06-01T13:30:00Z"},
		{"Asia/Kolkata", "2026-06-01T04:00:00Z"},
	} {
		s, err := Parse("every day at 9:30", mustLoc(t, tc.loc), anchor)
		require.NoError(t, err)
		require.Equal(t, tc.wantUTC, s.Next(anchor).UTC().Format(time.RFC3339), tc.loc)
	}
}

// TestDaylightSaving follows ISC cron: a fixed-time job in the skipped hour
// runs right after the change, once in the repeated hour; wildcard jobs
// follow real time.
func TestDaylightSaving(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		name, when string
		from       time.Time
		want       []string // UTC
	}{
		// 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
		{"spring fixed in the gap", "30 2 * * *", time.Date(2026, 3, 28, 12, 0, 0, 0, berlin),
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"spring fixed outside the gap", "every day at 9:30", time.Date(2026, 3, 28, 12, 0, 0, 0, berlin),
			[]string{"2026-03-29T07:30:00Z", "2026-03-30T07:30:00Z"}},
		{"spring hourly", "0 * * * *", time.Date(2026, 3, 29, 0, 30, 0, 0, berlin),
			[]string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}},
		// 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.
		{"autumn fixed in the repeated hour", "30 2 * * *", time.Date(2026, 10, 24, 12, 0, 0, 0, berlin),
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"autumn hourly", "0 * * * *", time.Date(2026, 10, 25, 1, 30, 0, 0, berlin),
			[]string{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}},
		{"autumn interval is real time", "every 1h", time.Date(2026, 10, 25, 1, 0, 0, 0, berlin),
			[]string{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.when, berlin, tc.from)
			require.NoError(t, err)
			var want []time.Time
			for _, w := range tc.want {
				want = append(want, utc(w))
			}
			got := firings(s, tc.from.Add(-time.Nanosecond), len(want))
			for i := range got {
				got[i] = got[i].UTC()
			}
			require.Equal(t, want, got)
		})
	}
	// A Next asked from inside the repeated hour, after the first 02:30 ran,
	// does not run it again.
	s, err := Parse("30 2 * * *", berlin, time.Time{})
	require.NoError(t, err)
	require.Equal(t, utc("2026-10-26T01:30:00Z"), s.Next(utc("2026-10-25T01:10:00Z")).UTC())
}
