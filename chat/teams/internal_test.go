package teams

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/chat"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{AppID: "c9e8d7f6-a5b4-4c3d-8e2f-1a0b9c8d7e6f", AppPassword: "pw"}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"minimal", func(*Config) {}, ""},
		{"no app id", func(c *Config) { c.AppID = "" }, "app_id"},
		{"no password", func(c *Config) { c.AppPassword = "" }, "app_password"},
		{"bad tenant", func(c *Config) { c.TenantID = "a/b" }, "tenant_id"},
		{"bad service url", func(c *Config) { c.ServiceURL = "smba" }, "service_url"},
		{"bad token url", func(c *Config) { c.TokenURL = "ftp://x/y" }, "token_url"},
		{"bad metadata url", func(c *Config) { c.OpenIDMetadataURL = "::" }, "openid_metadata_url"},
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

func TestDefaultsFollowTheTenant(t *testing.T) {
	multi := Config{AppID: "a", AppPassword: "p"}.withDefaults()
	single := Config{AppID: "a", AppPassword: "p", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47"}.withDefaults()
	if !strings.Contains(multi.TokenURL, "/botframework.com/oauth2/v2.0/token") {
		t.Errorf("multi-tenant token URL %q", multi.TokenURL)
	}
	if !strings.Contains(single.TokenURL, "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token") {
		t.Errorf("single-tenant token URL %q", single.TokenURL)
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ping", "ping"},
		{" deploy api to&nbsp;production", "deploy api to production"},
		{"<p>deploy</p><p>api</p>", "deploy\n\napi"},
		{"a<br>b", "a\nb"},
		{"1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"},
		{"<span>x</span> y", "x y"},
		{"unclosed <tag", "unclosed <tag"},
	}
	for _, tt := range tests {
		if got := plainText(tt.in); got != tt.want {
			t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMarkdownRendering(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*bold* _it_ `c`", "**bold** _it_ `c`"},
		{"[docs](https://x.example)", "[docs](https://x.example)"},
		{"a <b> c*d", "a &lt;b&gt; c\\*d"},
	}
	for _, tt := range tests {
		if got := chat.Render(tt.in, markdown{}); got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func fixture(t *testing.T, name string) activity {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var act activity
	if err := json.Unmarshal(data, &act); err != nil {
		t.Fatal(err)
	}
	return act
}

func TestChannelMessageFixture(t *testing.T) {
	a, err := New(Config{AppID: "c9e8d7f6-a5b4-4c3d-8e2f-1a0b9c8d7e6f", AppPassword: "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := a.message(fixture(t, "channel_message.json"))
	if !ok {
		t.Fatal("the message was dropped")
	}
	room := chat.Room{Adapter: Name, ID: "19:a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6@thread.tacv2", Name: "ops"}
	want := chat.Message{
		ID:     room.ID + "/1763800000123",
		Room:   room,
		From:   chat.Identity{Adapter: Name, ID: "6b1d5c4e-2f3a-4b8c-9d0e-1f2a3b4c5d6e", Name: "Alice Ops"},
		Text:   "deploy api to production",
		Thread: chat.Ref{Room: room, ID: "1763799000000", Thread: "1763799000000"},
		Direct: true, // it mentions the bot
	}
	if m != want {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}
}

func TestActionSubmitFixture(t *testing.T) {
	a, err := New(Config{AppID: "c9e8d7f6-a5b4-4c3d-8e2f-1a0b9c8d7e6f", AppPassword: "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := a.message(fixture(t, "action_submit.json"))
	if !ok || m.Action == nil || *m.Action != (chat.Action{ID: "approve", Value: "yes 4821"}) || m.Text != "yes 4821" {
		t.Errorf("click arrived as %+v (%v)", m, ok)
	}
}
