package mattermost_test

import (
	"context"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/mattermost"
	"github.com/opsbot/opsbot/chat/mattermost/mattermosttest"
)

// BenchmarkInbound is one message from a person to the bot: POST /posts on
// the fake, the posted event over the WebSocket, decoded by the adapter
// and handed to the bot.
func BenchmarkInbound(b *testing.B) {
	srv := mattermosttest.New(b)
	team := srv.AddTeam("eng")
	bot, alice := srv.AddUser("opsbot", true), srv.AddUser("alice", false)
	ops := srv.AddChannel(team, "ops", bot, alice)
	a, err := mattermost.New(fastConfig(srv.URL, bot.Token), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan chat.Message, 1024)
	go func() { _ = a.Run(ctx, in) }()
	for deadline := time.Now().Add(5 * time.Second); srv.Connections() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) { // not timing anything yet: waiting for the WebSocket
			b.Fatal("the adapter did not connect")
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		srv.Say(b, alice, ops, "", "@opsbot deploy api to production")
		for m := range in {
			if m.Text == "deploy api to production" {
				break
			}
		}
	}
}

// BenchmarkPostAttachment is one post with a coloured attachment, fields
// and buttons through the fake's REST API, over loopback HTTP.
func BenchmarkPostAttachment(b *testing.B) {
	srv := mattermosttest.New(b)
	team := srv.AddTeam("eng")
	bot := srv.AddUser("opsbot", true)
	ops := srv.AddChannel(team, "ops", bot)
	cfg := fastConfig(srv.URL, bot.Token)
	cfg.ActionURL = "https://opsbot.example.com" + mattermost.ActionPath
	a, err := mattermost.New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	room := chat.Room{Adapter: "mattermost", ID: ops.ID}
	p := chat.Post{Text: "Deploy *api* to production?", Severity: chat.SeverityWarning,
		Fields:  []chat.Field{{Name: "version", Value: "v1.42.0", Short: true}, {Name: "by", Value: "alice", Short: true}},
		Buttons: []chat.Button{{ID: "yes", Label: "Approve", Value: "yes 4821"}, {ID: "no", Label: "Cancel", Value: "no 4821"}}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Post(ctx, room, p); err != nil {
			b.Fatal(err)
		}
	}
}
