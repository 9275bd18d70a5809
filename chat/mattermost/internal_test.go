package mattermost

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/config"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{URL: "https://chat.example.com", Token: "t"}
	tests := []struct {
		name string
		edit func(*Config)
		want string // a key the error names; "" for valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"no url", func(c *Config) { c.URL = "" }, "url"},
		{"not http", func(c *Config) { c.URL = "ftp://x" }, "url"},
		{"no token", func(c *Config) { c.Token = "" }, "token"},
		{"bad action url", func(c *Config) { c.ActionURL = "/hooks" }, "action_url"},
		{"channel name without team", func(c *Config) { c.Channels = []string{"ops"} }, "channels[0]"},
		{"channel id without team", func(c *Config) { c.Channels = []string{"4xp9fdt77pncbef59f4k1qe83o"} }, ""},
		{"empty channel", func(c *Config) { c.Team, c.Channels = "eng", []string{"~"} }, "channels[0]"},
		{"negative timeout", func(c *Config) { c.RequestTimeout = -time.Second }, "request_timeout"},
		{"backoff upside down", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }, "reconnect_max"},
		{"negative length", func(c *Config) { c.MaxPostLen = -1 }, "max_post_len"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v does not name %s", err, tt.want)
			}
		})
	}
}

func TestMarkdownRendering(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"*bold* and _it_", "**bold** and _it_"},
		{"`code` here", "`code` here"},
		{"a [link](https://x.example/a_b)", "a [link](https://x.example/a_b)"},
		{"```\nls -l\n```", "```\nls -l\n```"},
		{"5 * 3 and a_b <tag> | pipe", "5 \\* 3 and a\\_b \\<tag\\> \\| pipe"},
		{"- item", "- item"},
	}
	for _, tt := range tests {
		if got := chat.Render(tt.in, markdown{}); got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStripMention(t *testing.T) {
	tests := []struct{ in, want string }{
		{"@opsbot deploy api", "deploy api"},
		{"@OpsBot: deploy", "deploy"},
		{"@opsbot, ping", "ping"},
		{"@opsbotx deploy", "@opsbotx deploy"},
		{"  ping  ", "ping"},
		{"tell @opsbot hi", "tell @opsbot hi"},
	}
	for _, tt := range tests {
		if got := stripMention(tt.in, "opsbot"); got != tt.want {
			t.Errorf("stripMention(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{http.Header{"X-Ratelimit-Reset": {"2"}}, 2 * time.Second},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{}, 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h); got != tt.want {
			t.Errorf("retryAfter(%v) = %s, want %s", tt.h, got, tt.want)
		}
	}
}

// The documented posted event becomes a message: mention stripped, thread
// from root_id, identity by user ID.
func TestPostedEventFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/posted_event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev wsEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	a := newTestAdapter(t, Config{URL: "https://chat.example.com", Token: "t"})
	m, ok := a.posted(ev, user{ID: "zzzz", Username: "opsbot"})
	if !ok {
		t.Fatal("the posted event was dropped")
	}
	room := chat.Room{Adapter: Name, ID: "4xp9fdt77pncbef59f4k1qe83o", Name: "ops"}
	want := chat.Message{
		ID: "8ugqdjkp1pfkxyqk5cm5ba3qdo", Room: room,
		From:   chat.Identity{Adapter: Name, ID: "qx5d6tkdkjbbmj8ew4fwshk1sr", Name: "alice"},
		Text:   "deploy api to production",
		Thread: chat.Ref{Room: room, ID: "b7hsoa9f6bbf5jfggefy7xs4ta", Thread: "b7hsoa9f6bbf5jfggefy7xs4ta"},
		Direct: true, // it starts with @opsbot
	}
	if m != want {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}
	// The bot's own posts are not messages for it.
	if _, ok := a.posted(ev, user{ID: "qx5d6tkdkjbbmj8ew4fwshk1sr"}); ok {
		t.Error("the bot's own post was delivered")
	}
}

// The documented action request, with a genuine signature, is a click.
func TestActionRequestFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/action_request.json")
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAdapter(t, Config{URL: "https://chat.example.com", Token: "t", ActionURL: "https://bot.example.com" + ActionPath, ActionSecret: config.Secret("s3cret")})
	body := strings.Replace(string(data), "REPLACED-BY-THE-TEST", a.sign("approve", "yes 4821"), 1)
	rec := httptest.NewRecorder()
	a.Routes()["POST "+ActionPath].ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ActionPath, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	m := <-a.inbound
	if m.Action == nil || m.Action.ID != "approve" || m.Text != "yes 4821" || m.From.ID != "qx5d6tkdkjbbmj8ew4fwshk1sr" || m.Room.Name != "ops" {
		t.Errorf("click arrived as %+v", m)
	}
	// Another action secret signs differently: the click is refused.
	other := newTestAdapter(t, Config{URL: "https://chat.example.com", Token: "t", ActionURL: "https://bot.example.com" + ActionPath, ActionSecret: config.Secret("other")})
	rec = httptest.NewRecorder()
	other.ActionHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ActionPath, strings.NewReader(body)))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status %d under another secret, want 401", rec.Code)
	}
}

func TestNoRoutesWithoutActionURL(t *testing.T) {
	a := newTestAdapter(t, Config{URL: "https://chat.example.com", Token: "t"})
	if a.Routes() != nil || a.RendersButtons() {
		t.Error("without action_url the adapter mounts a route or renders buttons")
	}
}

func newTestAdapter(t *testing.T, cfg Config) *Adapter {
	t.Helper()
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
