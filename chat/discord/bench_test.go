package discord

import (
	"context"
	"fmt"
	"testing"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/discord/discordtest"
)

// BenchmarkInbound: a person's message on the fake, MESSAGE_CREATE over the
// gateway, decoded and handed to the bot.
func BenchmarkInbound(b *testing.B) {
	srv := discordtest.Start(b, discordtest.Options{})
	a, err := New(Config{Token: configSecret(srv.Token()), APIURL: srv.URL()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan chat.Message, 1)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, in) }()
	defer func() { cancel(); <-done }()
	srv.WaitConnected(b)
	ops := srv.ChannelID(b, "ops")
	srv.Say(b, "alice", ops, "warm up")
	<-in
	b.ResetTimer()
	for i := range b.N {
		srv.Say(b, "alice", ops, fmt.Sprintf("ping %d", i))
		<-in
	}
}

// BenchmarkPostEmbed: a post with severity, two fields, a link and two
// buttons, as an embed with components, created over loopback REST.
func BenchmarkPostEmbed(b *testing.B) {
	srv := discordtest.Start(b, discordtest.Options{})
	a, err := New(Config{Token: configSecret(srv.Token()), APIURL: srv.URL()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	to := chat.Room{Adapter: Name, ID: srv.ChannelID(b, "ops")}
	p := chat.Post{
		Text: "*api* deployed to _production_", Severity: chat.SeveritySuccess,
		Fields:  []chat.Field{{Name: "version", Value: "v1.42.0", Short: true}, {Name: "took", Value: "3m12s", Short: true}},
		Links:   []chat.Link{{Title: "pipeline", URL: "https://ci.example.com/p/42"}},
		Buttons: []chat.Button{{ID: "rollback", Label: "Roll back", Value: "rollback api", Style: "danger"}, {ID: "ok", Label: "OK", Value: "ack 42"}},
	}
	b.ResetTimer()
	for range b.N {
		if _, err := a.Post(context.Background(), to, p); err != nil {
			b.Fatal(err)
		}
	}
}
