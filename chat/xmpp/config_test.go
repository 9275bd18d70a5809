package xmpp

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{JID: "opsbot@example.org", Password: "pw", Rooms: []RoomConfig{{JID: "ops@conference.example.org"}}}
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" for valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"no jid", func(c *Config) { c.JID = "" }, "jid: is required"},
		{"full jid", func(c *Config) { c.JID = "opsbot@example.org/res" }, "jid: \"opsbot@example.org/res\" is not a bare JID"},
		{"no domain", func(c *Config) { c.JID = "opsbot" }, "is not a bare JID"},
		{"no password", func(c *Config) { c.Password = "" }, "password: is required"},
		{"bad tls", func(c *Config) { c.TLS = "ssl" }, "tls: \"ssl\" is not one of starttls, direct, plain"},
		{"server without port", func(c *Config) { c.Server = "xmpp.example.org" }, "server: \"xmpp.example.org\" has no port"},
		{"room without jid", func(c *Config) { c.Rooms = []RoomConfig{{Nick: "bot"}} }, "rooms[0].jid: is required"},
		{"room twice", func(c *Config) { c.Rooms = append(c.Rooms, RoomConfig{JID: "OPS@conference.example.org"}) }, "rooms[1].jid: \"OPS@conference.example.org\" is listed twice"},
		{"room nick with slash", func(c *Config) { c.Rooms[0].Nick = "a/b" }, "rooms[0].nick: must not contain / or @"},
		{"negative timeout", func(c *Config) { c.PingTimeout = -time.Second }, "ping_timeout: must not be negative"},
		{"max below min", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }, "reconnect_max: is less than reconnect_min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.Rooms = append([]RoomConfig(nil), ok.Rooms...)
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

func TestNewRejectsBadConfigWithoutShowingThePassword(t *testing.T) {
	_, err := New(Config{JID: "not a jid", Password: "hunter2"}, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestDefaults(t *testing.T) {
	c := Config{JID: "a@b", Password: "p"}.withDefaults()
	assert.Equal(t, TLSStartTLS, c.TLS)
	assert.Equal(t, DefaultNick, c.Nick)
	assert.Equal(t, DefaultResource, c.Resource)
	assert.Equal(t, DefaultMaxPostLen, c.MaxPostLen)
	assert.Equal(t, DefaultReconnectMax, c.ReconnectMax)
}

func TestBackoff(t *testing.T) {
	lo, hi := time.Second, 10*time.Second
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{1, time.Second, time.Second},
		{2, 1600 * time.Millisecond, 2 * time.Second},
		{3, 3200 * time.Millisecond, 4 * time.Second},
		{5, 8 * time.Second, 10 * time.Second},
		{50, 8 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		for range 20 {
			d := backoff(tt.n, lo, hi)
			assert.True(t, d >= tt.min && d <= tt.max, "attempt %d: %s not in [%s, %s]", tt.n, d, tt.min, tt.max)
		}
	}
}

func TestNextNick(t *testing.T) {
	assert.Equal(t, []string{"opsbot_", "opsbot_2", "opsbot_3"}, []string{nextNick("opsbot", 1), nextNick("opsbot", 2), nextNick("opsbot", 3)})
}

func TestStanzasEscape(t *testing.T) {
	s := messageStanza("ops@conference.example.org", "groupchat", "id1", "a <b> & 'c'\x00", "")
	assert.Contains(t, s, "<body>a &lt;b&gt; &amp; &#39;c&#39;\uFFFD</body>")
	assert.Contains(t, s, "<origin-id xmlns='urn:xmpp:sid:0' id='id1'/>")
	assert.NotContains(t, s, "replace")
	c := messageStanza("a@b", "chat", "id2", "x", "id1")
	assert.Contains(t, c, "<replace xmlns='urn:xmpp:message-correct:0' id='id1'/>")
	j := joinStanza("ops@conference.example.org", "bot'", "pa<ss")
	assert.Contains(t, j, "to='ops@conference.example.org/bot&#39;'")
	assert.Contains(t, j, "<history maxchars='0'/><password>pa&lt;ss</password>")
	assert.True(t, strings.HasPrefix(newID(), "ob-"))
	assert.NotEqual(t, newID(), newID())
}

func TestJIDParts(t *testing.T) {
	assert.Equal(t, "ops@conf.example.org", bare("ops@conf.example.org/nick/with/slash"))
	assert.Equal(t, "nick/with/slash", resource("ops@conf.example.org/nick/with/slash"))
	assert.Equal(t, "conf.example.org", domain("ops@conf.example.org/x"))
	assert.Equal(t, "ops", local("ops@conf.example.org/x"))
	assert.Equal(t, "alice@example.org", normBare("Alice@Example.org/Phone"))
}
