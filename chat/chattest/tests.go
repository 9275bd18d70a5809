package chattest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
)

func testReceive(t *testing.T, s *session) {
	m := s.say(t, "alice", "ops", "ping")
	name := s.adapter.Name()
	if m.ID == "" {
		t.Errorf("message has no ID")
	}
	if m.Room.Adapter != name || m.From.Adapter != name {
		t.Errorf("room adapter %q and identity adapter %q, want %q", m.Room.Adapter, m.From.Adapter, name)
	}
	if !names(m.Room.ID, m.Room.Name, "ops") {
		t.Errorf("room %+v is not ops", m.Room)
	}
	if !names(m.From.ID, m.From.Name, "alice") {
		t.Errorf("sender %+v is not alice", m.From)
	}
	again := s.say(t, "alice", "ops", "ping")
	if again.ID == m.ID {
		t.Errorf("two messages share the ID %q", m.ID)
	}
}

func testReply(t *testing.T, s *session) {
	m := s.say(t, "alice", "ops", "ping")
	ref, err := s.sender.Post(s.ctx, m.Room, chat.Post{Text: "pong"})
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	if ref.ID == "" {
		t.Errorf("post returned a Ref without ID")
	}
	s.seenContaining(t, "ops", "pong")
}

func testOtherRoom(t *testing.T, s *session) {
	ops := s.say(t, "alice", "ops", "ping")
	dev := s.say(t, "bob", "dev", "hello")
	if ops.Room == dev.Room {
		t.Fatalf("ops and dev arrived as the same room %+v", ops.Room)
	}
	if _, err := s.sender.Post(s.ctx, dev.Room, chat.Post{Text: "for dev only"}); err != nil {
		t.Fatalf("post: %v", err)
	}
	if _, err := s.sender.Post(s.ctx, ops.Room, chat.Post{Text: "for ops"}); err != nil {
		t.Fatalf("post: %v", err)
	}
	s.seenContaining(t, "dev", "for dev only")
	s.seenContaining(t, "ops", "for ops")
	for _, post := range s.h.Seen(t, "ops") {
		if strings.Contains(post, "for dev only") {
			t.Errorf("the post to dev was seen in ops")
		}
	}
}

func testThread(t *testing.T, s *session) {
	m := s.say(t, "alice", "ops", "deploy api")
	root, err := s.sender.Post(s.ctx, m.Room, chat.Post{Text: "deploying api", ThreadKey: "deploy #42"})
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	reply, err := s.sender.PostInThread(s.ctx, root, chat.Post{Text: "step 1 of 3"})
	if err != nil {
		t.Fatalf("post in thread: %v", err)
	}
	if _, threads := s.adapter.(chat.Threader); threads {
		want := root.Thread
		if want == "" {
			want = root.ID
		}
		if reply.Thread != want {
			t.Errorf("reply's Ref.Thread is %q, want the root %q", reply.Thread, want)
		}
		s.seenContaining(t, "ops", "step 1 of 3")
		return
	}
	s.seenContaining(t, "ops", "[deploy #42] step 1 of 3")
}

func testButtons(t *testing.T, s *session) {
	m := s.say(t, "alice", "ops", "deploy api to production")
	buttons := []chat.Button{
		{ID: "approve", Label: "Approve", Value: "yes 4821", Style: "primary"},
		{ID: "cancel", Label: "Cancel", Value: "no 4821"},
	}
	if _, err := s.sender.Post(s.ctx, m.Room, chat.Post{Text: "Deploy api to production?", Buttons: buttons}); err != nil {
		t.Fatalf("post: %v", err)
	}
	if i, ok := s.adapter.(chat.Interactive); ok && i.RendersButtons() {
		s.seenContaining(t, "ops", "Approve", "Cancel")
		return
	}
	s.seenContaining(t, "ops", "1. Approve", "2. Cancel")
	answer := s.say(t, "alice", "ops", "1")
	value, ok := s.sender.ResolveChoice(answer.Room, answer.Thread, answer.Text)
	if !ok || value != "yes 4821" {
		t.Errorf("the answer 1 resolved to %q, %v; want %q", value, ok, "yes 4821")
	}
}

func testLongMessage(t *testing.T, s *session) {
	m := s.say(t, "alice", "ops", "logs")
	var lines []string
	size := 0
	for i := 0; size < 20*1024; i++ {
		line := fmt.Sprintf("line %04d: héllo wörld, 日本語, the quick brown fox", i)
		lines = append(lines, line)
		size += len(line) + 1
	}
	if _, err := s.sender.Post(s.ctx, m.Room, chat.Post{Text: strings.Join(lines, "\n")}); err != nil {
		t.Fatalf("post: %v", err)
	}
	s.eventually(t, "ops", "the 20 KB post", func(seen []string) error {
		all := strings.Join(seen, "\n")
		at := 0
		for _, line := range lines {
			i := strings.Index(all[at:], line)
			if i < 0 {
				return fmt.Errorf("%q is missing or out of order", line)
			}
			at += i + len(line)
		}
		return nil
	})
}

func testReconnect(t *testing.T, s *session) {
	s.say(t, "alice", "ops", "ping")
	if !s.h.Drop(t) {
		t.Skipf("the %s harness cannot break the connection", s.adapter.Name())
	}
	// Messages said while the adapter reconnects may be lost by the chat (IRC
	// keeps nothing for an absent client), so say again until one arrives.
	deadline := time.Now().Add(Timeout)
	var m chat.Message
	for i := 1; ; i++ {
		s.h.Say(t, "alice", "ops", fmt.Sprintf("ping after drop %d", i))
		var ok bool
		m, ok = s.receive(t, func(m chat.Message) bool { return strings.HasPrefix(m.Text, "ping after drop") }, Timeout/20)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no message arrived within %s of the connection breaking", s.adapter.Name(), Timeout)
		}
	}
	for {
		_, err := s.sender.Post(s.ctx, m.Room, chat.Post{Text: "back again"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: posting after the reconnect: %v", s.adapter.Name(), err)
		}
	}
	s.seenContaining(t, "ops", "back again")
}

func testOrder(t *testing.T, s *session) {
	rooms := map[string]chat.Room{
		"ops": s.say(t, "alice", "ops", "ping").Room,
		"dev": s.say(t, "bob", "dev", "ping").Room,
	}
	const posts = 20
	var wg sync.WaitGroup
	for name, room := range rooms {
		wg.Go(func() {
			for i := range posts {
				if _, err := s.sender.Post(s.ctx, room, chat.Post{Text: fmt.Sprintf("order %s %02d", name, i)}); err != nil {
					t.Errorf("post %d to %s: %v", i, name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for name := range rooms {
		want := make([]string, posts)
		for i := range want {
			want[i] = fmt.Sprintf("order %s %02d", name, i)
		}
		s.eventually(t, name, fmt.Sprintf("%d posts in order", posts), func(seen []string) error {
			var got []string
			for _, post := range seen {
				for _, w := range want {
					if strings.Contains(post, w) {
						got = append(got, w)
					}
				}
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("seen in this order: %q", got)
			}
			return nil
		})
	}
}
