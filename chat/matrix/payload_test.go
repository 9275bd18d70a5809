package matrix

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
)

func TestDocumentedSync(t *testing.T) {
	data, err := os.ReadFile("testdata/sync.json")
	require.NoError(t, err)
	var resp syncResponse
	require.NoError(t, json.Unmarshal(data, &resp))
	a, err := New(Config{Homeserver: "https://matrix.example.com", UserID: "@opsbot:example.com", AccessToken: "t"}, nil)
	require.NoError(t, err)
	got := a.process(context.Background(), &resp, false)
	byID := map[string]chat.Message{}
	for _, m := range got {
		byID[m.ID] = m
	}
	require.Len(t, byID, 2)
	assert.Equal(t, chat.Message{
		ID:   "$143273582443PhrSq:example.org",
		Room: chat.Room{Adapter: "matrix", ID: "!726s6s6q:example.com", Name: "#ops:example.com"},
		From: chat.Identity{Adapter: "matrix", ID: "@alice:example.com", Name: "Alice Margatroid"},
		Text: "This is an example text message",
	}, byID["$143273582443PhrSq:example.org"])
	dm := byID["$dm1:example.com"]
	assert.True(t, dm.Direct, "a room of the bot's m.direct")
	assert.Equal(t, "whoami", dm.Text)
	assert.Equal(t, "s72595_4483_1934", resp.NextBatch)

	// The first sync learns the rooms but delivers nothing.
	assert.Empty(t, a.process(context.Background(), &resp, true))
}

func TestDocumentedLimitExceeded(t *testing.T) {
	body, err := os.ReadFile("testdata/limit_exceeded.json")
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	a, err := New(Config{Homeserver: srv.URL, UserID: "@opsbot:example.com", AccessToken: "t"}, nil)
	require.NoError(t, err)
	_, err = a.Post(context.Background(), chat.Room{Adapter: "matrix", ID: "!726s6s6q:example.com"}, chat.Post{Text: "hi"})
	d, ok := chat.RetryAfter(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, 2*time.Second, d)
}

func TestRenderHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain <words> & more", "plain &lt;words&gt; &amp; more"},
		{"*bold* _it_ `x<y`", "<strong>bold</strong> <em>it</em> <code>x&lt;y</code>"},
		{"```go\nif a < b {}\n```", `<pre><code class="language-go">if a &lt; b {}</code></pre>`},
		{"[Grafana](https://g.example.com/?a=1&b=2)", `<a href="https://g.example.com/?a=1&amp;b=2">Grafana</a>`},
		{"- one\n- two", "• one<br>• two"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, chat.Render(tt.in, htmlRenderer{}), tt.in)
	}
}

func TestStripReplyFallback(t *testing.T) {
	assert.Equal(t, "status", stripReplyFallback("> <@bob:x> deploying\n> more\n\nstatus"))
	assert.Equal(t, "no quote", stripReplyFallback("no quote"))
	assert.Equal(t, "a\n> b", stripReplyFallback("a\n> b"))
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"valid", func(c *Config) {}, ""},
		{"password instead", func(c *Config) { c.AccessToken, c.Password = "", "pw" }, ""},
		{"no homeserver", func(c *Config) { c.Homeserver = "" }, "homeserver: is required"},
		{"server name", func(c *Config) { c.Homeserver = "matrix.example.org" }, `homeserver: "matrix.example.org" is not an http(s) URL`},
		{"user", func(c *Config) { c.UserID = "opsbot" }, `user_id: "opsbot" is not a user ID`},
		{"no credentials", func(c *Config) { c.AccessToken = "" }, "access_token: is required, or password"},
		{"room", func(c *Config) { c.Rooms = []string{"ops"} }, `rooms[0]: "ops" is neither a room ID`},
		{"msgtype", func(c *Config) { c.MsgType = "m.emote" }, `msgtype: "m.emote" is not m.notice or m.text`},
		{"too long", func(c *Config) { c.MaxPostLen = 60000 }, "max_post_len: must be between 0 and 30000"},
		{"negative", func(c *Config) { c.SyncTimeout = -time.Second }, "sync_timeout: must not be negative"},
		{"max below min", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }, "reconnect_max: is less than reconnect_min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Homeserver: "https://matrix.example.org", UserID: "@opsbot:example.org", AccessToken: "syt_x", Rooms: []string{"#ops:example.org", "!abc:example.org"}}
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

func TestNewKeepsSecretsOutOfErrors(t *testing.T) {
	_, err := New(Config{Homeserver: "nope", UserID: "@a:b", AccessToken: "syt_secret", Password: "hunter2"}, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "syt_secret")
	assert.NotContains(t, err.Error(), "hunter2")
}
