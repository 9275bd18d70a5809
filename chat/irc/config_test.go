package irc

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/config"
)

func validConfig() Config {
	return Config{Server: "irc.example.net:6697", Nick: "opsbot", TLS: TLSConfig{Enabled: true}, Channels: []ChannelConfig{{Name: "#ops"}}}
}

func TestConfigValidate(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("a valid config: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		key    string
	}{
		{"no server", func(c *Config) { c.Server = "" }, "server"},
		{"bad port", func(c *Config) { c.Server = "irc.example.net:99999" }, "server"},
		{"bad nick", func(c *Config) { c.Nick = "9lives" }, "nick"},
		{"bad alternate nick", func(c *Config) { c.AltNicks = []string{"ok", "not ok"} }, "alt_nicks[1]"},
		{"bad user", func(c *Config) { c.User = "a b" }, "user"},
		{"bad channel", func(c *Config) { c.Channels = []ChannelConfig{{Name: "ops"}} }, "channels[0].name"},
		{"channel twice", func(c *Config) { c.Channels = []ChannelConfig{{Name: "#ops"}, {Name: "#OPS"}} }, "channels[1].name"},
		{"plain without password", func(c *Config) { c.SASL = SASLConfig{Mechanism: "plain", User: "bot"} }, "sasl.password"},
		{"external without certificate", func(c *Config) { c.SASL = SASLConfig{Mechanism: "external"} }, "sasl.mechanism"},
		{"unknown mechanism", func(c *Config) { c.SASL = SASLConfig{Mechanism: "scram"} }, "sasl.mechanism"},
		{"certificate without key", func(c *Config) { c.TLS.CertFile = "bot.crt" }, "tls.key_file"},
		{"tls keys without tls", func(c *Config) { c.TLS = TLSConfig{CAFile: "ca.pem"} }, "tls.enabled"},
		{"negative rate", func(c *Config) { c.Flood.Rate = -1 }, "flood.rate"},
		{"negative timeout", func(c *Config) { c.PostTimeout = -time.Second }, "post_timeout"},
		{"max below min", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }, "reconnect_max"},
		{"bare nick mask", func(c *Config) { c.TrustedMasks = map[string]string{"alice": "alice"} }, "trusted_masks.alice"},
		{"guest identity", func(c *Config) { c.TrustedMasks = map[string]string{"a!b@c": "nick:a"} }, "trusted_masks.a!b@c"},
		{"unknown format", func(c *Config) { c.Format = "html" }, "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			err := c.Validate()
			var fe config.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want field errors", err)
			}
			for _, e := range fe {
				if e.Path == tt.key {
					return
				}
			}
			t.Errorf("Validate() = %v, want an error on %s", err, tt.key)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Server: "irc", Nick: "opsbot"}.withDefaults()
	if c.User != "opsbot" || c.RealName != "opsbot" || c.NickServ.Service != "NickServ" || c.Format != "irc" ||
		c.Flood.Rate != 1 || c.Flood.Burst != 4 || c.ReconnectMin != time.Second || c.ReconnectMax != 2*time.Minute ||
		c.PostTimeout != 30*time.Second || c.RejoinInterval != 30*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	for _, tt := range []struct {
		server string
		tls    bool
		port   int
	}{{"irc.example.net", false, 6667}, {"irc.example.net", true, 6697}, {"irc.example.net:7000", true, 7000}, {"[::1]:6667", false, 6667}} {
		_, port, err := splitServer(tt.server, tt.tls)
		if err != nil || port != tt.port {
			t.Errorf("splitServer(%q, %v) = %d, %v; want %d", tt.server, tt.tls, port, err, tt.port)
		}
	}
}

func TestNewRefusesAnInvalidConfig(t *testing.T) {
	_, err := New(Config{Server: "irc.example.net"}, nil)
	if err == nil || !strings.Contains(err.Error(), "nick") {
		t.Errorf("New without a nick: %v", err)
	}
	_, err = New(Config{Server: "irc:6697", Nick: "bot", TLS: TLSConfig{Enabled: true, CAFile: "testdata/missing.pem"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("New with a missing CA file: %v", err)
	}
}

func TestNickCandidates(t *testing.T) {
	a := &Adapter{cfg: Config{Nick: "opsbotlong", AltNicks: []string{"opsbot_", "opsbot__"}}}
	var got []string
	for try := 1; try <= 4; try++ {
		got = append(got, a.candidate(try))
	}
	if strings.Join(got, " ") != "opsbot_ opsbot__ opsbotl1 opsbotl2" {
		t.Errorf("candidates: %q", got)
	}
	if a.candidate(2+99) != "opsbotl99" || a.candidate(2+100) != "" {
		t.Errorf("the numbered candidates do not stop at 99")
	}
}
