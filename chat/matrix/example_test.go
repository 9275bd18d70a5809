package matrix_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat/matrix"
	"github.com/opsbot/opsbot/config"
)

// TestExampleConfig loads the commented matrix block of examples/opsbot.yaml,
// uncommented, through the config loader, so the example stays valid.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../examples/opsbot.yaml")
	require.NoError(t, err)
	var block []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "#   matrix:":
			in = true
		case in && !strings.HasPrefix(line, "#     "):
			in = false
		}
		if in {
			block = append(block, strings.TrimPrefix(line, "#   "))
		}
	}
	require.NotEmpty(t, block, "no matrix block in examples/opsbot.yaml")
	var section struct {
		Matrix *matrix.Config `yaml:"matrix"`
	}
	l := config.NewLoader(config.WithEnv(map[string]string{"MATRIX_PASSWORD": "pw"}))
	require.NoError(t, l.Register("adapters", &section))
	require.NoError(t, l.Load("opsbot.yaml", []byte("adapters:\n  "+strings.Join(block, "\n  ")+"\n")))
	require.NotNil(t, section.Matrix)
	assert.Equal(t, "@opsbot:example.org", section.Matrix.UserID)
	assert.Equal(t, []string{"#ops:example.org", "!cURbafjkfsMDVwdRDQ:example.org"}, section.Matrix.Rooms)
	_, err = matrix.New(*section.Matrix, nil)
	require.NoError(t, err)
}
