package slack_test

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The app manifest asks for exactly the scopes and events the adapter uses.
func TestManifestHasExactlyWhatTheAdapterUses(t *testing.T) {
	b, err := os.ReadFile("../../examples/slack-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct {
				Command string `yaml:"command"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	scopes := slices.Sorted(slices.Values(m.OAuth.Scopes.Bot))
	want := []string{"app_mentions:read", "channels:history", "channels:read", "chat:write", "commands", "files:write",
		"groups:history", "groups:read", "im:history", "reactions:write", "users:read"}
	if !slices.Equal(scopes, want) {
		t.Errorf("scopes %q, want %q", scopes, want)
	}
	events := slices.Sorted(slices.Values(m.Settings.Events.BotEvents))
	if !slices.Equal(events, []string{"app_mention", "message.channels", "message.groups", "message.im"}) {
		t.Errorf("events %q", events)
	}
	if !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode {
		t.Errorf("interactivity %v, socket mode %v: both are needed", m.Settings.Interactivity.Enabled, m.Settings.SocketMode)
	}
	if len(m.Features.SlashCommands) == 0 || m.Features.SlashCommands[0].Command != "/opsbot" {
		t.Errorf("slash commands %+v, want /opsbot", m.Features.SlashCommands)
	}
}
