package discord

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
)

func TestRender(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"*bold* and _italic_", "**bold** and *italic*"},
		{"run `deploy api`", "run `deploy api`"},
		{"a `tick`s` b", "a `tick`s\\` b"},
		{"```sh\nmake test\n```", "```sh\nmake test\n```"},
		{"[Grafana](https://grafana.example.com)", "[Grafana](https://grafana.example.com)"},
		{"[https://x.example](https://x.example)", "<https://x.example>"},
		{"- one\n- two", "- one\n- two"},
		{"2*3*4 = 24 ~approx~ a|b", `2\*3\*4 = 24 \~approx\~ a\|b`},
		{"# not a heading\n> not a quote", "\\# not a heading\n\\> not a quote"},
		{"<@123> <#456> @everyone", `\<@123> \<#456> @everyone`},
		{"back\\slash", `back\\slash`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, render(tt.in), "render(%q)", tt.in)
	}
}

func TestBuildLongEscapedTextGoesToTheEmbed(t *testing.T) {
	a, err := New(Config{Token: "t"}, nil)
	require.NoError(t, err)
	text := strings.Repeat("*", 1999) // 2000 bytes at most reach the adapter; escaped, twice that
	m := a.build(chat.Post{Text: text})
	assert.Empty(t, m.content)
	require.Len(t, m.embeds, 1)
	assert.Equal(t, strings.Repeat(`\*`, 1999), m.embeds[0].Description)
	assert.Zero(t, m.embeds[0].Color)
}

func TestCustomID(t *testing.T) {
	a, err := New(Config{Token: "t"}, nil)
	require.NoError(t, err)
	for _, b := range []chat.Button{
		{ID: "approve", Value: "yes 4821"},
		{ID: "a|b", Value: "value with | bar"},
		{ID: "long", Value: strings.Repeat("v", 200)},
		{ID: "hash", Value: "#ops"},
	} {
		id := a.customID(b)
		assert.LessOrEqual(t, len(id), 100)
		act, ok := a.action(id)
		require.True(t, ok, id)
		assert.Equal(t, strings.ReplaceAll(b.ID, "|", ""), act.ID)
		assert.Equal(t, b.Value, act.Value)
	}
	_, ok := a.action("no separator")
	assert.False(t, ok)
	_, ok = a.action("x|#ffff")
	assert.False(t, ok, "an unknown long value")
}

func TestEmoji(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"white_check_mark", "✅", true},
		{":rocket:", "🚀", true},
		{"🎉", "🎉", true},
		{"party:123456789012345678", "party:123456789012345678", true},
		{"no_such_name", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := emoji(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"valid", func(c *Config) {}, ""},
		{"no token", func(c *Config) { c.Token = "" }, "token: is required"},
		{"Bot prefix", func(c *Config) { c.Token = "Bot abc" }, `token: must not start with "Bot "`},
		{"channel name", func(c *Config) { c.Channels = []string{"#ops"} }, `channels[0]: "#ops" is not a channel ID`},
		{"slash command", func(c *Config) { c.SlashCommand = "Ops Bot" }, `slash_command: "Ops Bot" is not a command name`},
		{"no slash command", func(c *Config) { c.SlashCommand = "-" }, ""},
		{"archive", func(c *Config) { c.ThreadArchive = 2 * time.Hour }, "thread_archive: 2h0m0s is not one of 1h, 24h, 72h, 168h"},
		{"negative", func(c *Config) { c.PostTimeout = -time.Second }, "post_timeout: must not be negative"},
		{"api url with a path", func(c *Config) { c.APIURL = "http://proxy:8080/api/v9" }, "api_url: \"http://proxy:8080/api/v9\" is not an http(s) URL without a path"},
		{"api url", func(c *Config) { c.APIURL = "http://proxy:8080" }, ""},
		{"max below min", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }, "reconnect_max: is less than reconnect_min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Token: "MTA1.abc", Channels: []string{"1234567890123"}}
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewKeepsTheTokenOutOfErrors(t *testing.T) {
	_, err := New(Config{Token: "Bot hunter2"}, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int][2]time.Duration{1: {time.Second, time.Second}, 3: {3200 * time.Millisecond, 4 * time.Second}, 50: {8 * time.Second, 10 * time.Second}} {
		for range 20 {
			d := backoff(n, time.Second, 10*time.Second)
			assert.True(t, d >= want[0] && d <= want[1], "attempt %d: %s", n, d)
		}
	}
}
