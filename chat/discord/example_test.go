package discord_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat/discord"
	"github.com/opsbot/opsbot/config"
)

// TestExampleConfig loads the commented discord block of examples/opsbot.yaml,
// uncommented, through the config loader, so the example stays valid.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../examples/opsbot.yaml")
	require.NoError(t, err)
	var block []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "#   discord:":
			in = true
		case in && !strings.HasPrefix(line, "#     "):
			in = false
		}
		if in {
			block = append(block, strings.TrimPrefix(line, "#   "))
		}
	}
	require.NotEmpty(t, block, "no discord block in examples/opsbot.yaml")
	var section struct {
		Discord *discord.Config `yaml:"discord"`
	}
	l := config.NewLoader(config.WithEnv(map[string]string{"DISCORD_BOT_TOKEN": "MTA1.example"}))
	require.NoError(t, l.Register("adapters", &section))
	require.NoError(t, l.Load("opsbot.yaml", []byte("adapters:\n  "+strings.Join(block, "\n  ")+"\n")))
	require.NotNil(t, section.Discord)
	assert.Equal(t, config.Secret("MTA1.example"), section.Discord.Token)
	_, err = discord.New(*section.Discord, nil)
	require.NoError(t, err)
}
