package irc

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"github.com/opsbot/opsbot/chat"
)

// The inbox hands messages over in order and never blocks the IRC side,
// dropping (and logging) only beyond maxQueued.
func TestInbox(t *testing.T) {
	b := newInbox(slog.New(slog.DiscardHandler))
	for i := range maxQueued + 5 {
		b.push(chat.Message{ID: strconv.Itoa(i)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan chat.Message)
	done := make(chan struct{})
	go func() { defer close(done); b.pump(ctx, in) }()
	for i := range maxQueued {
		if m := <-in; m.ID != strconv.Itoa(i) {
			t.Fatalf("message %d arrived as %s", i, m.ID)
		}
	}
	b.push(chat.Message{ID: "later"})
	if m := <-in; m.ID != "later" {
		t.Fatalf("after the queue emptied: %s", m.ID)
	}
	cancel()
	<-done
	if b.dropped != 5 {
		t.Errorf("dropped %d, want 5", b.dropped)
	}
}
