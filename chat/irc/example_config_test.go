package irc_test

import (
	"os"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/chat/irc"
	"github.com/opsbot/opsbot/config"
)

// The commented adapters.irc block of examples/opsbot.yaml, uncommented,
// loads strictly into irc.Config (as the app will register it) and makes a
// valid adapter.
func TestExampleConfigBlock(t *testing.T) {
	data, err := os.ReadFile("../../examples/opsbot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "# adapters:\n")
	if start < 0 {
		t.Fatal("no commented adapters: block in examples/opsbot.yaml")
	}
	// adapters:, then the irc: subtree (other adapters may follow it).
	block := []string{"adapters:"}
	in := false
	for _, line := range strings.Split(text[start:], "\n")[1:] {
		if !strings.HasPrefix(line, "#") {
			break
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		key := strings.TrimLeft(line, " ")
		indent := len(line) - len(key)
		if indent <= 2 && key != "" && !strings.HasPrefix(key, "#") {
			in = key == "irc:"
		}
		if in {
			block = append(block, line)
		}
	}
	var section struct {
		IRC *irc.Config `yaml:"irc"`
	}
	l := config.NewLoader(config.WithEnv(map[string]string{"IRC_PASSWORD": "pw", "IRC_DEPLOYS_KEY": "key"}))
	if err := l.Register("adapters", &section); err != nil {
		t.Fatal(err)
	}
	if err := l.Load("opsbot.yaml", []byte(strings.Join(block, "\n"))); err != nil {
		t.Fatalf("the example block does not load: %v", err)
	}
	if section.IRC == nil || section.IRC.Nick != "opsbot" || section.IRC.SASL.Password.Reveal() != "pw" || len(section.IRC.TrustedMasks) != 2 {
		t.Fatalf("loaded %+v", section.IRC)
	}
	if _, err := irc.New(*section.IRC, nil); err != nil {
		t.Errorf("the example makes no adapter: %v", err)
	}
}
