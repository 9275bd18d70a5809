package matrix

import (
	"context"
	"fmt"
	"testing"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/matrix/matrixtest"
	"github.com/opsbot/opsbot/config"
)

// BenchmarkInbound: a person's message on the fake homeserver, the bot's
// long-polling /sync answered with it, decoded and handed to the bot.
func BenchmarkInbound(b *testing.B) {
	srv := matrixtest.Start(b, matrixtest.Options{})
	a, err := New(Config{Homeserver: srv.URL(), UserID: srv.BotID(), Password: config.Secret(srv.BotPassword()), Rooms: []string{srv.Alias("ops")}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan chat.Message, 1)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, in) }()
	defer func() { cancel(); <-done }()
	srv.WaitJoined(b, "ops")
	srv.Say(b, "alice", "ops", "warm up")
	<-in
	b.ResetTimer()
	for i := range b.N {
		srv.Say(b, "alice", "ops", fmt.Sprintf("ping %d", i))
		<-in
	}
}

// BenchmarkPostHTML: a post with severity, two fields and a link, rendered
// to a plain and an HTML body and sent over loopback.
func BenchmarkPostHTML(b *testing.B) {
	srv := matrixtest.Start(b, matrixtest.Options{})
	a, err := New(Config{Homeserver: srv.URL(), UserID: srv.BotID(), AccessToken: config.Secret(srv.Token())}, nil)
	if err != nil {
		b.Fatal(err)
	}
	to := chat.Room{Adapter: Name, ID: srv.Alias("ops")}
	p := chat.Post{
		Text: "*api* deployed to _production_", Severity: chat.SeveritySuccess,
		Fields: []chat.Field{{Name: "version", Value: "v1.42.0"}, {Name: "took", Value: "3m12s"}},
		Links:  []chat.Link{{Title: "pipeline", URL: "https://ci.example.com/p/42"}},
	}
	if _, err := a.Post(context.Background(), to, p); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := a.Post(context.Background(), to, p); err != nil {
			b.Fatal(err)
		}
	}
}
