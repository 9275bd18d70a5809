package teams_test

import (
	"os"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/chat/teams"
	"github.com/opsbot/opsbot/config"
)

// The commented adapters.teams block of examples/opsbot.yaml, uncommented,
// loads strictly into teams.Config and makes a valid adapter.
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
	block := []string{"adapters:"}
	in := false
	for _, line := range strings.Split(text[start:], "\n")[1:] {
		if !strings.HasPrefix(line, "#") {
			break
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		key := strings.TrimLeft(line, " ")
		if indent := len(line) - len(key); indent <= 2 && key != "" && !strings.HasPrefix(key, "#") {
			in = key == "teams:"
		}
		if in {
			block = append(block, line)
		}
	}
	var section struct {
		Teams *teams.Config `yaml:"teams"`
	}
	l := config.NewLoader(config.WithEnv(map[string]string{"TEAMS_APP_PASSWORD": "pw", "TEAMS_ALERTS_WEBHOOK": "https://example.webhook.office.com/webhookb2/x",
		"TEAMS_OPS_WEBHOOK": "https://example.webhook.office.com/webhookb2/y", "TEAMS_OUTGOING_SECRET": docsKey}))
	if err := l.Register("adapters", &section); err != nil {
		t.Fatal(err)
	}
	if err := l.Load("opsbot.yaml", []byte(strings.Join(block, "\n"))); err != nil {
		t.Fatalf("the example block does not load: %v", err)
	}
	c := section.Teams
	if c == nil || c.AppPassword.Reveal() != "pw" || c.AppID == "" || c.Webhooks["alerts"].Reveal() == "" || c.OutgoingWebhooks["ops"].Secret.Reveal() != docsKey {
		t.Fatalf("loaded %+v", c)
	}
	if _, err := teams.New(*c, nil); err != nil {
		t.Errorf("the example makes no adapter: %v", err)
	}
}
