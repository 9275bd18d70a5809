package xmpp_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat/xmpp"
	"github.com/opsbot/opsbot/config"
)

// TestExampleConfig loads the commented xmpp block of examples/opsbot.yaml,
// uncommented, through the config loader, so the example stays valid.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../examples/opsbot.yaml")
	require.NoError(t, err)
	var block []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "#   xmpp:":
			in = true
		case in && !strings.HasPrefix(line, "#     "):
			in = false
		}
		if in {
			block = append(block, strings.TrimPrefix(line, "#   "))
		}
	}
	require.NotEmpty(t, block, "no xmpp block in examples/opsbot.yaml")
	var section struct {
		XMPP *xmpp.Config `yaml:"xmpp"`
	}
	l := config.NewLoader(config.WithEnv(map[string]string{"XMPP_PASSWORD": "pw", "XMPP_DEPLOYS_ROOM_PASSWORD": "door"}))
	require.NoError(t, l.Register("adapters", &section))
	require.NoError(t, l.Load("opsbot.yaml", []byte("adapters:\n  "+strings.Join(block, "\n  ")+"\n")))
	require.NotNil(t, section.XMPP)
	assert.Equal(t, "opsbot@example.org", section.XMPP.JID)
	assert.Equal(t, config.Secret("door"), section.XMPP.Rooms[1].Password)
	_, err = xmpp.New(*section.XMPP, nil)
	require.NoError(t, err)
}
