// Package bottest lets a module author test commands in a few lines: a real
// bot on a real SQLite store in a temp dir, a fake chat, a fake clock.
//
//	tb := bottest.New(t, bottest.Modules(mymodule.New()))
//	tb.User("alice", "ops")
//	tb.Grant("deploy", "group:ops")
//	reply := tb.Say("alice", "ops", "deploy api")
//	require.Contains(t, reply, "deploying api")
package bottest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/app"
	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/store"
)

// Bot is a bot under test.
type Bot struct {
	T       testing.TB
	App     *app.App
	Bot     *bot.Bot
	Store   store.Store
	Chat    *Adapter
	Clock   *clock.Fake
	Ctx     context.Context
	log     *lockedWriter
	counter int
}

type options struct {
	yaml     string
	database string
	modules  []bot.Module
	log      io.Writer
}

// Option configures New.
type Option func(*options)

// Config gives the bot an opsbot.yaml.
func Config(yaml string) Option { return func(o *options) { o.yaml = yaml } }

// Database runs on this database URL instead of SQLite in a temp dir.
func Database(url string) Option { return func(o *options) { o.database = url } }

// Modules replaces the built-in modules with these (core is always included).
func Modules(mods ...bot.Module) Option { return func(o *options) { o.modules = mods } }

// New starts a bot for a test; it stops when the test ends.
func New(t testing.TB, opts ...Option) *Bot {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	dir := t.TempDir()
	cfg := ""
	if o.yaml != "" {
		cfg = filepath.Join(dir, "opsbot.yaml")
		if err := os.WriteFile(cfg, []byte(o.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logw := &lockedWriter{w: &strings.Builder{}}
	fc := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	ao := app.Options{ConfigFile: cfg, DataDir: filepath.Join(dir, "data"), DatabaseURL: o.database, Clock: fc, LogOutput: logw}
	if o.modules != nil {
		ao.Modules = append(app.CoreModules(), o.modules...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a, err := app.Open(ctx, ao)
	if err != nil {
		t.Fatalf("bottest: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	fake := NewAdapter()
	if err := a.Build(ctx, fake); err != nil {
		t.Fatalf("bottest: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("bottest: %v", err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return &Bot{T: t, App: a, Bot: a.Bot, Store: a.Store, Chat: fake, Clock: fc, Ctx: ctx, log: logw}
}

// User creates an opsbot user with groups and links the identity test:NAME.
func (b *Bot) User(name string, groups ...string) store.User {
	b.T.Helper()
	u, err := b.Store.CreateUser(b.Ctx, name)
	if err != nil {
		b.T.Fatal(err)
	}
	for _, g := range groups {
		if err := b.Store.AddToGroup(b.Ctx, u.ID, g); err != nil {
			b.T.Fatal(err)
		}
	}
	if err := b.Store.LinkIdentity(b.Ctx, store.Identity{UserID: u.ID, Adapter: "test", ChatID: name, Name: name}); err != nil {
		b.T.Fatal(err)
	}
	return u
}

// Grant adds a rule giving permission to subject ("group:ops", "user:alice").
func (b *Bot) Grant(permission, subject string) {
	b.T.Helper()
	if _, err := b.Store.AddRule(b.Ctx, store.Rule{Permission: permission, Subject: subject}); err != nil {
		b.T.Fatal(err)
	}
}

// Message builds the message user would send in room.
func (b *Bot) Message(user, room, text string) chat.Message {
	b.counter++
	return chat.Message{
		ID:   fmt.Sprintf("m%d", b.counter),
		Room: chat.Room{Adapter: "test", ID: room, Name: "#" + room},
		From: chat.Identity{Adapter: "test", ID: user, Name: user},
		Text: text, Direct: true,
	}
}

// Send delivers a message and waits until the bot has handled it; it returns
// the posts the bot made meanwhile.
func (b *Bot) Send(m chat.Message) []Posted {
	before := len(b.Chat.All())
	b.Bot.Handle(b.Ctx, m)
	return b.Chat.All()[before:]
}

// Say sends text as user in room and returns the bot's replies joined by newlines.
func (b *Bot) Say(user, room, text string) string {
	return Texts(b.Send(b.Message(user, room, text)))
}

// Texts joins the texts of posts.
func Texts(ps []Posted) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Post.Text
	}
	return strings.Join(out, "\n")
}

// WaitFor waits (in real time, up to 10 s) until a post in room contains
// substr, and returns it. For background work that posts later.
func (b *Bot) WaitFor(room, substr string) Posted {
	b.T.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, p := range b.Chat.All() {
			if p.Room == room && strings.Contains(p.Post.Text, substr) {
				return p
			}
		}
		select {
		case <-b.Chat.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			b.T.Fatalf("no post containing %q in %s; posts:\n%s", substr, room, Texts(b.Chat.All()))
		}
	}
}

// Logs returns everything the bot logged so far.
func (b *Bot) Logs() string { return b.log.String() }
