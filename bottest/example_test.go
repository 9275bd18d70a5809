package bottest_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bottest"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
)

// uptime is the module docs/writing-a-module.md builds.
type uptime struct {
	cfg struct {
		Hosts []string `yaml:"hosts"`
	}
}

func (*uptime) Name() string { return "uptime" }

func (m *uptime) ConfigSection() (string, any) { return "uptime", &m.cfg }

func (m *uptime) Provision(h *bot.Host) error {
	if err := h.Type(command.EnumFunc("host", func(ctx context.Context) ([]string, error) { return m.cfg.Hosts, nil })); err != nil {
		return err
	}
	if err := h.Command(command.Spec{Name: "uptime", Grammar: "uptime [of {host:host}]", Help: "how long a host has been up",
		Run: func(ctx context.Context, c *command.Call) error {
			host := c.Args["host"]
			if host == "" {
				host = "every host"
			}
			return c.Replyf(ctx, "%s: up %s", host, 72*time.Hour)
		}}); err != nil {
		return err
	}
	if err := h.Command(command.Spec{Name: "restart-cache", Grammar: "restart-cache {host:host}", Help: "restart the cache on a host",
		Permission: "cache:restart", SideEffects: true, Confirm: command.Policy{Mode: command.ConfirmAlways},
		Run: func(ctx context.Context, c *command.Call) error {
			_, err := c.OpenThread(ctx, "cache-restart", c.Args["host"], chat.Post{Text: "restarting the cache on " + c.Args["host"]})
			return err
		}}); err != nil {
		return err
	}
	return h.Command(command.Spec{Name: "cache.again", Grammar: "again", Thread: "cache-restart", Help: "restart the same cache again",
		Permission: "cache:restart", SideEffects: true,
		Run: func(ctx context.Context, c *command.Call) error {
			return c.Replyf(ctx, "restarting %s again", c.ThreadData)
		}})
}

func TestWritingAModuleWalkthrough(t *testing.T) {
	tb := bottest.New(t, bottest.Modules(&uptime{}), bottest.Config("uptime:\n  hosts: [web1, web2]\n"))
	tb.User("alice", "ops")

	require.Contains(t, tb.Say("alice", "ops", "uptime of WEB1"), "web1: up 72h0m0s")
	require.Contains(t, tb.Say("alice", "ops", "uptime of db9"), `"db9" is not a known host`)
	require.Contains(t, tb.Say("alice", "ops", "restart-cache web1"), "needs the permission `cache:restart`")

	tb.Grant("cache:restart", "group:ops")
	choices := tb.Say("alice", "ops", "restart-cache")
	require.Contains(t, choices, "1. web1")
	reply := tb.Say("alice", "ops", "2") // the numbered fallback of the host buttons
	require.Contains(t, reply, "needs confirmation")
	code := regexp.MustCompile(`yes (\d+)`).FindStringSubmatch(reply)[1]
	posts := tb.Send(tb.Message("alice", "ops", "yes "+code))
	require.Equal(t, "restarting the cache on web2", bottest.Texts(posts))

	again := tb.Message("alice", "ops", "again")
	again.Direct, again.Thread = false, posts[0].Ref
	require.Equal(t, "restarting web2 again", bottest.Texts(tb.Send(again)))
}
