package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat/discord/discordtest"
	"github.com/opsbot/opsbot/chat/matrix/matrixtest"
)

// TestDiscordAndMatrixThroughServe: with adapters.discord (its REST base
// pointed at the fake Discord) and adapters.matrix configured, `opsbot
// serve` answers a command from each chat in the room it came from, and
// neither the Discord token nor the Matrix password reaches the log.
func TestDiscordAndMatrixThroughServe(t *testing.T) {
	dc := discordtest.Start(t, discordtest.Options{})
	mx := matrixtest.Start(t, matrixtest.Options{})

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), fmt.Sprintf(`
adapters:
  discord:
    token: %s
    api_url: %s
    reconnect_min: 50ms
  matrix:
    homeserver: %s
    user_id: "%s"
    password: %q
    rooms: ["%s"]
    reconnect_min: 50ms
`, dc.Token(), dc.URL(), mx.URL(), mx.BotID(), mx.BotPassword(), mx.Alias("ops")))
	logs := &lockedBuffer{}
	defer func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	}()
	startServer(t, dir, logs)

	dc.WaitConnected(t)
	dc.Say(t, "alice", "ops", "<@"+dc.Bot().ID+"> ping")
	require.Eventually(t, func() bool { return strings.Contains(strings.Join(dc.Seen(t, "ops"), "\n"), "pong") },
		30*time.Second, 20*time.Millisecond, "pong in the Discord channel")

	mx.WaitJoined(t, "ops")
	mx.Say(t, "bob", "ops", "opsbot: ping")
	require.Eventually(t, func() bool { return strings.Contains(strings.Join(mx.Seen(t, "ops"), "\n"), "pong") },
		30*time.Second, 20*time.Millisecond, "pong in the Matrix room")

	for _, secret := range []string{dc.Token(), mx.BotPassword()} {
		require.NotContains(t, logs.String(), secret, "a secret reached the log")
	}
}
