package slacktest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat/slack/slacktest"
)

// The fake refuses what Slack refuses, so the adapter's tests can fail.
func TestTheFakeRefusesWhatSlackRefuses(t *testing.T) {
	fake := slacktest.Start(t)
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(fake.APIURL()))
	ctx := context.Background()
	code := func(err error) string {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) {
			return se.Err
		}
		if err != nil {
			return err.Error()
		}
		return ""
	}
	ops := fake.ChannelID("ops")
	long := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)
	fake.SetBotMember(fake.ChannelID("dev"), false)
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"a section over 3000 characters", func() error {
			_, _, err := api.PostMessageContext(ctx, ops, slack.MsgOptionBlocks(long))
			return err
		}, "invalid_blocks"},
		{"no text", func() error { _, _, err := api.PostMessageContext(ctx, ops); return err }, "no_text"},
		{"an unknown channel", func() error {
			_, _, err := api.PostMessageContext(ctx, "C0NOWHERE1", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"a channel the bot is not in", func() error {
			_, _, err := api.PostMessageContext(ctx, "#dev", slack.MsgOptionText("x", false))
			return err
		}, "not_in_channel"},
		{"a thread that doesn't exist", func() error {
			_, _, err := api.PostMessageContext(ctx, ops, slack.MsgOptionText("x", false), slack.MsgOptionTS("1.000001"))
			return err
		}, "thread_not_found"},
		{"editing someone else's message", func() error {
			app := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			defer app.Close()
			fake.EventsURL = app.URL
			ts, err := fake.Say("alice", "ops", "mine")
			if err != nil {
				return err
			}
			_, _, _, err = api.UpdateMessageContext(ctx, ops, ts, slack.MsgOptionText("x", false))
			return err
		}, "cant_update_message"},
		{"a wrong token", func() error {
			_, err := slack.New("xoxb-wrong", slack.OptionAPIURL(fake.APIURL())).AuthTestContext(ctx)
			return err
		}, "invalid_auth"},
		{"a bot token for Socket Mode", func() error {
			_, _, err := slack.New(slacktest.BotToken, slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(slacktest.BotToken)).StartSocketModeContext(ctx)
			return err
		}, "not_allowed_token_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := code(tc.call()); got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
	fake.RateLimit("users.info", 7)
	_, err := api.GetUserInfoContext(ctx, fake.UserID("alice"))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter.Seconds() != 7 {
		t.Errorf("a rate-limited call: %v", err)
	}
}
