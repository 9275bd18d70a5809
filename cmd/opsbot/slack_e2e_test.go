package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat/slack/slacktest"
)

// TestSlackSocketModeEndToEnd runs `opsbot serve` with the Slack adapter in
// Socket Mode against the fake Slack: a mention answered in its thread, a
// direct message without prefix, slash commands, a confirmation by button
// (another user's click refused privately), a redelivered event run once,
// and no token in the log.
func TestSlackSocketModeEndToEnd(t *testing.T) {
	fake := slacktest.Start(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), `
adapters:
  slack:
    bot_token: ${SLACK_BOT_TOKEN}
    app_token: ${SLACK_APP_TOKEN}
    api_url: `+fake.APIURL()+`
    reconnect_min: 50ms
    slash_commands:
      /health: ping
users:
  - name: alice
    groups: [ops]
    identities: ["slack:`+fake.UserID("alice")+`"]
rules:
  - permission: restart
    groups: [ops]
commands:
  - name: restart
    grammar: restart {service:enum(api|db)}
    argv: ["echo", "restarted {service}"]
    confirm: always
outbox:
  limits:
    slack: {room_rate: 0, adapter_rate: 0}
`)
	logPath := filepath.Join(dir, "serve.log")
	serveLogged(t, dir, []string{"SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_APP_TOKEN=" + slacktest.AppToken}, logPath)
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log:\n%s", b)
		}
	}()
	until := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("not within 20s: %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	has := func(posts []string, part string) bool {
		return slices.ContainsFunc(posts, func(p string) bool { return strings.Contains(p, part) })
	}
	until("the Socket Mode connection", fake.IsConnected)

	mention := "<@" + slacktest.BotUserID + ">"
	ts, err := fake.Say("alice", "ops", mention+" ping")
	require.NoError(t, err)
	until("pong in the mention's thread", func() bool { return has(fake.Thread("ops", ts), "pong") })

	_, err = fake.DM("alice", "whoami")
	require.NoError(t, err)
	until("whoami answered in the DM", func() bool { return has(fake.Seen(fake.DMChannel("alice")), "alice") })

	start := time.Now()
	ack, err := fake.Slash("alice", "dev", "/health", "")
	require.NoError(t, err)
	require.Less(t, time.Since(start), slacktest.AckTimeout)
	require.Contains(t, string(ack), "in_channel")
	until("pong for /health in #dev", func() bool { return has(fake.Seen("dev"), "pong") })

	ts, err = fake.Say("alice", "ops", mention+" restart api")
	require.NoError(t, err)
	var q slacktest.Message
	until("a confirmation with buttons", func() bool {
		for _, m := range fake.Messages("ops") {
			if slices.Contains(slacktest.Buttons(m), "Confirm") {
				q = m
				return true
			}
		}
		return false
	})
	require.Equal(t, ts, q.ThreadTS, "the confirmation is in the command's thread")
	require.NoError(t, fake.Click("bob", "ops", q.TS, slacktest.ButtonID(q, "Confirm")))
	until("bob told privately", func() bool { return has(fake.Ephemerals("bob"), "Not yours") })
	require.NoError(t, fake.Click("alice", "ops", q.TS, slacktest.ButtonID(q, "Confirm")))
	until("restarted api in the thread", func() bool { return has(fake.Thread("ops", ts), "restarted api") })

	// Slack delivers the last event again: it is not run twice.
	ts, err = fake.Say("alice", "ops", "opsbot ping")
	require.NoError(t, err)
	until("pong", func() bool { return has(fake.Thread("ops", ts), "pong") })
	require.NoError(t, fake.Redeliver())
	ts2, err := fake.Say("alice", "ops", "opsbot whoami")
	require.NoError(t, err)
	until("whoami answered", func() bool { return has(fake.Thread("ops", ts2), "alice") })
	require.Len(t, fake.Thread("ops", ts), 1, "the redelivered ping was answered again")

	log, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Contains(t, string(log), "Socket Mode connected")
	require.NotContains(t, string(log), slacktest.BotToken)
	require.NotContains(t, string(log), slacktest.AppToken)
}

// TestSlackEventsAPIEndToEnd: in events mode the adapter's routes are on
// opsbot's listener; Slack's signed requests run commands, forged ones are
// refused.
func TestSlackEventsAPIEndToEnd(t *testing.T) {
	fake := slacktest.Start(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), `
adapters:
  slack:
    mode: events
    bot_token: ${SLACK_BOT_TOKEN}
    signing_secret: ${SLACK_SIGNING_SECRET}
    api_url: `+fake.APIURL()+`
outbox:
  limits:
    slack: {room_rate: 0, adapter_rate: 0}
`)
	url := serveLogged(t, dir, []string{"SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_SIGNING_SECRET=" + slacktest.SigningSecret}, "")
	fake.EventsURL = url + "/hooks/slack"
	var ts string
	deadline := time.Now().Add(20 * time.Second)
	for { // the routes answer once the server is ready
		var err error
		if ts, err = fake.Say("carol", "ops", "<@"+slacktest.BotUserID+"> ping"); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the events route never accepted: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
	for !slices.ContainsFunc(fake.Thread("ops", ts), func(p string) bool { return strings.Contains(p, "pong") }) {
		require.True(t, time.Now().Before(deadline), "no pong in the thread")
		time.Sleep(20 * time.Millisecond)
	}
	code, body := postRaw(t, url+"/hooks/slack/events", `{"type":"event_callback"}`, map[string]string{
		"X-Slack-Request-Timestamp": "1531420618", "X-Slack-Signature": "v0=forged"})
	require.Equal(t, 401, code, body)
}

func postRaw(t *testing.T, url, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
