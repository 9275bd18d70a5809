package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat/mattermost/mattermosttest"
	"github.com/opsbot/opsbot/chat/teams/teamstest"
)

// TestTeamsAndMattermostThroughServe: with adapters.teams and
// adapters.mattermost configured, `opsbot serve` takes Teams activities on
// /hooks/teams (verified against the fake's keys) and Mattermost messages
// from its WebSocket, and answers both through their APIs; a forged Teams
// request is refused and no secret reaches the log.
func TestTeamsAndMattermostThroughServe(t *testing.T) {
	tm := teamstest.New(t)
	teamsOps := tm.AddChannel("ops")
	alice := teamstest.NewUser("alice")

	mm := mattermosttest.New(t)
	team := mm.AddTeam("eng")
	bot := mm.AddUser("opsbot", true)
	bob := mm.AddUser("bob", false)
	mmOps := mm.AddChannel(team, "ops", bob)

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), fmt.Sprintf(`
adapters:
  teams:
    app_id: %s
    app_password: %s
    service_url: %s
    token_url: %s/botframework.com/oauth2/v2.0/token
    openid_metadata_url: %s/v1/.well-known/openidconfiguration
  mattermost:
    url: %s
    token: %s
    team: eng
    channels: [ops]
    reconnect_min: 50ms
`, tm.AppID, tm.Password, tm.ServiceURL, tm.URL, tm.URL, mm.URL, bot.Token))
	logs := &lockedBuffer{}
	defer func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	}()
	srv := startServer(t, dir, logs)
	tm.BotEndpoint = srv.url + "/hooks/teams"

	tm.Say(t, alice, teamsOps, "", "ping")
	require.Eventually(t, func() bool { return strings.Contains(strings.Join(tm.Seen(teamsOps), "\n"), "pong") }, 30*time.Second, 20*time.Millisecond, "pong in the Teams channel")
	require.Equal(t, 401, tm.Deliver(t, map[string]any{"type": "message"}, ""), "a request without a token")

	require.Eventually(t, func() bool { return mm.IsMember(mmOps, bot) && mm.Connections() > 0 }, 30*time.Second, 20*time.Millisecond)
	mm.Say(t, bob, mmOps, "", "@opsbot ping")
	require.Eventually(t, func() bool { return strings.Contains(strings.Join(mm.Seen(mmOps, bot), "\n"), "pong") }, 30*time.Second, 20*time.Millisecond, "pong in the Mattermost channel")

	for _, secret := range []string{tm.Password, bot.Token} {
		require.NotContains(t, logs.String(), secret, "a secret reached the log")
	}
}
