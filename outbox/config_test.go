package outbox

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
)

func TestConfigDefaultsAndLimits(t *testing.T) {
	c := Config{Limits: map[string]Limit{"slack": {RoomRate: 0.5, RoomBurst: 1}, "matrix": {RoomRate: 3}}}.withDefaults()
	require.Equal(t, 8, c.MaxAttempts)
	require.Equal(t, time.Second, c.Backoff)
	require.Equal(t, 5*time.Minute, c.MaxBackoff)
	require.Equal(t, 24*time.Hour, c.Retention)
	declared := &chat.RateLimits{RoomRate: 2, RoomBurst: 4}
	for _, tc := range []struct {
		adapter  string
		declared *chat.RateLimits
		want     Limit
	}{
		{"slack", nil, Limit{RoomRate: 0.5, RoomBurst: 1}},      // configured over the built-in
		{"slack", declared, Limit{RoomRate: 0.5, RoomBurst: 1}}, // configured over the adapter's own
		{"matrix", nil, Limit{RoomRate: 3}},                     // configured, not built in
		{"zulip", declared, Limit{RoomRate: 2, RoomBurst: 4}},   // the adapter's own
		{"irc", declared, Limit{RoomRate: 2, RoomBurst: 4}},     // the adapter's own over the built-in
		{"shell", nil, Limit{}},                                 // built in: no limit
		{"irc", nil, Limit{AdapterRate: 0.5, AdapterBurst: 5}},  // built in
		{"rocketchat", nil, DefaultLimits()["default"]},         // unknown: the default
	} {
		require.Equal(t, tc.want, c.limitFor(tc.adapter, tc.declared), tc.adapter)
	}
	custom := Config{Limits: map[string]Limit{"default": {RoomRate: 7}}}
	require.Equal(t, Limit{RoomRate: 7}, custom.limitFor("rocketchat", nil), "a configured default")
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, Config{}.Validate())
	require.EqualError(t, Config{MaxAttempts: -1}.Validate(), "max_attempts: must not be negative")
	require.EqualError(t, Config{Retention: -time.Hour}.Validate(), "retention: must not be negative")
	require.NoError(t, Limit{RoomRate: 1, RoomBurst: 3}.Validate())
	require.EqualError(t, Limit{AdapterRate: -1}.Validate(), "adapter_rate: must not be negative")
	require.EqualError(t, Limit{RoomBurst: -1}.Validate(), "room_burst: must not be negative")
}

func TestBucket(t *testing.T) {
	now := t0
	b := newBucket(2, 3, now) // 2 a second, bursts of 3
	for range 3 {
		require.Zero(t, b.wait(now))
		b.take(1, now)
	}
	require.Equal(t, 500*time.Millisecond, b.wait(now))
	now = now.Add(500 * time.Millisecond)
	require.Zero(t, b.wait(now))
	b.take(4, now) // a split post of 4 parts leaves a debt of 3 tokens
	require.Equal(t, 2*time.Second, b.wait(now))
	b.take(-1, now) // a refund
	require.Equal(t, 1500*time.Millisecond, b.wait(now))
	now = now.Add(time.Hour)
	b.take(-10, now)
	require.Equal(t, 3.0, b.tokens, "never above the burst")

	var unlimited *bucket
	require.Zero(t, unlimited.wait(now))
	unlimited.take(5, now)
	require.Zero(t, newBucket(0, 0, now).wait(now))
}

func TestBackoff(t *testing.T) {
	full := func(d time.Duration) time.Duration { return d }
	none := func(time.Duration) time.Duration { return 0 }
	for _, tc := range []struct {
		n      int
		jitter func(time.Duration) time.Duration
		want   time.Duration
	}{
		{1, full, time.Second},
		{2, full, 2 * time.Second},
		{4, full, 8 * time.Second},
		{10, full, time.Minute}, // capped
		{100, full, time.Minute},
		{1, none, 500 * time.Millisecond}, // jitter keeps at least half
		{10, none, 30 * time.Second},
	} {
		require.Equal(t, tc.want, backoff(tc.n, time.Second, time.Minute, tc.jitter), "retry %d", tc.n)
	}
	for range 100 {
		d := backoff(3, time.Second, time.Minute, randomJitter)
		require.GreaterOrEqual(t, d, 2*time.Second)
		require.LessOrEqual(t, d, 4*time.Second)
	}
}
