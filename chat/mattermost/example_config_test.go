package mattermost_test

import (
	"os"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/chat/mattermost"
	"github.com/opsbot/opsbot/config"
)

// exampleBlock is the commented `adapters.NAME` block of
// examples/opsbot.yaml, uncommented, under "adapters:".
func exampleBlock(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/opsbot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "# adapters:\n")
	if start < 0 {
		t.Fatal("no commented adapters: block in examples/opsbot.yaml")
	}
	block := []string{"adapters:"}
	in := false
	for _, line := range strings.Split(text[start:], "\n")[1:] {
		if !strings.HasPrefix(line, "#") {
			break
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		key := strings.TrimLeft(line, " ")
		if indent := len(line) - len(key); indent <= 2 && key != "" && !strings.HasPrefix(key, "#") {
			in = key == name+":"
		}
		if in {
			block = append(block, line)
		}
	}
	if len(block) == 1 {
		t.Fatalf("no adapters.%s block in examples/opsbot.yaml", name)
	}
	return strings.Join(block, "\n")
}

// The example block loads strictly into mattermost.Config (as the app
// registers it) and makes a valid adapter.
func TestExampleConfigBlock(t *testing.T) {
	var section struct {
		Mattermost *mattermost.Config `yaml:"mattermost"`
	}
	l := config.NewLoader(config.WithEnv(map[string]string{"MATTERMOST_TOKEN": "tok"}))
	if err := l.Register("adapters", &section); err != nil {
		t.Fatal(err)
	}
	if err := l.Load("opsbot.yaml", []byte(exampleBlock(t, "mattermost"))); err != nil {
		t.Fatalf("the example block does not load: %v", err)
	}
	c := section.Mattermost
	if c == nil || c.Token.Reveal() != "tok" || c.Team != "eng" || len(c.Channels) != 2 || c.ActionURL == "" {
		t.Fatalf("loaded %+v", c)
	}
	if _, err := mattermost.New(*c, nil); err != nil {
		t.Errorf("the example makes no adapter: %v", err)
	}
}
