package command

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBuiltinTypes(t *testing.T) {
	tests := []struct {
		typ, in, out, err string
	}{
		{typ: "string", in: "hello", out: "hello"},
		{typ: "int", in: "42", out: "42"},
		{typ: "int", in: "+007", out: "7"},
		{typ: "int", in: "-3", out: "-3"},
		{typ: "int", in: "abc", err: `"abc" is not an int`},
		{typ: "int", in: "1.5", err: `"1.5" is not an int`},
		{typ: "duration", in: "90s", out: "90s"},
		{typ: "duration", in: "1H30m", out: "1h30m"},
		{typ: "duration", in: "2d", out: "2d"},
		{typ: "duration", in: "1w", out: "1w"},
		{typ: "duration", in: "5 minutes", err: `"5 minutes" is not a duration`},
		{typ: "duration", in: "soon", err: `"soon" is not a duration`},
		{typ: "duration", in: "-5m", err: `"-5m" is not a duration`},
		{typ: "time", in: "2026-12-01 09:30", out: "2026-12-01 09:30"},
		{typ: "time", in: "2026-12-01T9:30", out: "2026-12-01 09:30"},
		{typ: "time", in: "09:30", out: "09:30"},
		{typ: "time", in: "9:30", out: "09:30"},
		{typ: "time", in: "2026-12-01T09:30:00+01:00", out: "2026-12-01T09:30:00+01:00"},
		{typ: "time", in: "2026-12-01t08:30:00z", out: "2026-12-01T08:30:00Z"},
		{typ: "time", in: "Tomorrow 9:00", out: "tomorrow 09:00"},
		{typ: "time", in: "today 17:45", out: "today 17:45"},
		{typ: "time", in: "25:00", err: `"25:00" is not a time`},
		{typ: "time", in: "2026-13-01 09:30", err: `"2026-13-01 09:30" is not a time`},
		{typ: "time", in: "noon", err: `"noon" is not a time`},
		{typ: "date", in: "2026-12-01", out: "2026-12-01"},
		{typ: "date", in: "Tomorrow", out: "tomorrow"},
		{typ: "date", in: "2026-02-30", err: `"2026-02-30" is not a date`},
		{typ: "user", in: "@alice", out: "alice"},
		{typ: "user", in: "alice", out: "alice"},
		{typ: "user", in: "alice@example.com", out: "alice@example.com"},
		{typ: "user", in: "#ops", err: `"#ops" is not a user name`},
		{typ: "user", in: "@", err: `"@" is not a user name`},
		{typ: "room", in: "#ops", out: "#ops"},
		{typ: "room", in: "ops", out: "#ops"},
		{typ: "room", in: "@alice", err: `"@alice" is not a room`},
	}
	types := NewTypes()
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.in, func(t *testing.T) {
			typ, ok := types.Lookup(tt.typ)
			require.True(t, ok)
			require.Equal(t, tt.typ, typ.Name())
			out, err := typ.Parse(context.Background(), tt.in)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.out, out)
		})
	}
}

func TestTypesRegistry(t *testing.T) {
	types := NewTypes()
	typ, ok := types.Lookup("")
	require.True(t, ok)
	require.Equal(t, "string", typ.Name())
	_, ok = types.Lookup("env")
	require.False(t, ok)

	require.NoError(t, types.Register(Enum("env", "staging", "production")))
	env, ok := types.Lookup("env")
	require.True(t, ok)
	v, err := env.Parse(context.Background(), "PRODUCTION")
	require.NoError(t, err)
	require.Equal(t, "production", v)
	_, err = env.Parse(context.Background(), "prod")
	require.EqualError(t, err, `"prod" is not one of staging, production`)
	vals, err := env.(Enumerator).Values(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{"staging", "production"}, vals)

	require.Error(t, types.Register(nil))
	require.Error(t, types.Register(Enum("enum", "a")))
	require.Error(t, types.Register(Enum("bad name", "a")))
	require.Contains(t, types.Names(), "env")

	// Concurrent registration and lookup.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_ = types.Register(TypeFunc("x", parseString))
				_, _ = types.Lookup("x")
			}
		})
	}
	wg.Wait()
}

func TestResolveTime(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, loc)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-12-01 09:30", time.Date(2026, 12, 1, 9, 30, 0, 0, loc)},
		{"11:00", time.Date(2026, 11, 20, 11, 0, 0, 0, loc)},
		{"09:30", time.Date(2026, 11, 21, 9, 30, 0, 0, loc)},
		{"today 09:30", time.Date(2026, 11, 20, 9, 30, 0, 0, loc)},
		{"tomorrow 09:30", time.Date(2026, 11, 21, 9, 30, 0, 0, loc)},
		{"2026-12-01T09:30:00Z", time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)},
		{"2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, loc)},
		{"tomorrow", time.Date(2026, 11, 21, 0, 0, 0, 0, loc)},
	}
	for _, tt := range tests {
		got, err := ResolveTime(tt.in, now)
		require.NoError(t, err, tt.in)
		require.True(t, tt.want.Equal(got), "%s: got %v, want %v", tt.in, got, tt.want)
		require.True(t, tt.want.Equal(Args{"t": tt.in}.Time("t", now)))
	}
	_, err := ResolveTime("later", now)
	require.Error(t, err)
}
