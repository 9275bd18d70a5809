package xmpp_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/xmpp"
)

// BenchmarkPostToRoom posts to a MUC room on the real prosody, each post
// acknowledged by the room's echo: the round trip a post costs.
func BenchmarkPostToRoom(b *testing.B) {
	requireProsody(b)
	if sharedErr != nil {
		b.Fatal(sharedErr)
	}
	room := uniqueRoom("bench", "conference.localhost")
	a, err := xmpp.New(xmpp.Config{
		JID: botJID, Password: password, Server: shared.addr(), TLS: xmpp.TLSPlain,
		Resource: "bench", Rooms: []xmpp.RoomConfig{{JID: room}},
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, make(chan chat.Message, 1024)) }()
	defer func() { cancel(); <-done }()
	to := chat.Room{Adapter: "xmpp", ID: room}
	if _, err := a.Post(ctx, to, chat.Post{Text: "warm up"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := a.Post(ctx, to, chat.Post{Text: fmt.Sprintf("post %d", i)}); err != nil {
			b.Fatal(err)
		}
	}
}
