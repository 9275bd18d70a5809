package slack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
)

func benchAdapter(b *testing.B) *Adapter {
	a, err := New(Config{BotToken: "xoxb-bench", AppToken: "xapp-bench", APIURL: "http://127.0.0.1:1/"}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	a.self = self{userID: "U0BOT0001"}
	a.dir.learnUser("U0BOT0001", "opsbot")
	a.dir.learnUser("U0ALICE01", "alice")
	a.dir.learnChannel("C0OPS0001", "ops")
	return a
}

// BenchmarkRender is one alert rendered as Block Kit.
func BenchmarkRender(b *testing.B) {
	a := benchAdapter(b)
	p := chat.Post{
		Text:     "*api* is down in `production` since 09:14 — @alice is on call\n- 5xx rate 42%\n- p99 3.2s\n[dashboard](https://grafana.example/d/api)",
		Severity: chat.SeverityCritical,
		Fields:   []chat.Field{{Name: "env", Value: "production"}, {Name: "service", Value: "api"}},
		Links:    []chat.Link{{Title: "runbook", URL: "https://wiki.example/api"}},
		Buttons:  []chat.Button{{ID: "ack", Label: "Ack", Value: "ack 42"}, {ID: "silence", Label: "Silence 1h", Value: "silence api for 1h"}},
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.render(p, "n")
	}
}

// BenchmarkCommandText is an inbound mention resolved to command text
// (names cached, as after the first message).
func BenchmarkCommandText(b *testing.B) {
	a := benchAdapter(b)
	ctx := context.Background()
	text := "<@U0BOT0001> deploy api to staging for <@U0ALICE01> in <#C0OPS0001|ops> &amp; tell <!here>"
	b.ReportAllocs()
	for b.Loop() {
		_ = a.commandText(ctx, text)
	}
}

// BenchmarkVerify is the signature check of a 2 KB request.
func BenchmarkVerify(b *testing.B) {
	secret := []byte("8f742231b10e8888abcd99yyyzzz85a5")
	body := []byte(strings.Repeat("x", 2048))
	now := time.Unix(1531420618, 0)
	h := map[string][]string{"X-Slack-Request-Timestamp": {"1531420618"}, "X-Slack-Signature": {Sign(secret, "1531420618", body)}}
	b.ReportAllocs()
	for b.Loop() {
		if err := verify(secret, h, body, now); err != nil {
			b.Fatal(err)
		}
	}
}
