package slack_test

import (
	"strconv"
	"testing"

	"github.com/opsbot/opsbot/chat/slack"
	"github.com/opsbot/opsbot/chat/slack/slacktest"
)

// BenchmarkSocketModeInbound is one message from a person to the bot over
// Socket Mode on loopback: Slack's envelope, the adapter's ack, the
// redelivery check, name resolution (cached) and delivery to the bot.
func BenchmarkSocketModeInbound(b *testing.B) {
	fake := slacktest.Start(b)
	a, err := slack.New(slack.Config{BotToken: slacktest.BotToken, AppToken: slacktest.AppToken, APIURL: fake.APIURL()}, slack.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := running(b, a)
	i := 0
	for b.Loop() {
		i++
		if _, err := fake.Say("alice", "ops", "opsbot ping "+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
		<-in
	}
}
