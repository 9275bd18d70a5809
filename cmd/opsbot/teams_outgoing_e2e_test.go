package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat/teams/teamstest"
)

// TestTeamsOutgoingWebhookThroughServe: with only an outgoing webhook
// configured, `opsbot serve` takes its HMAC-signed requests on
// /hooks/teams, runs the command through the bot and the outbox, and
// answers in the HTTP response; a forged request is refused and the
// security token never reaches the log.
func TestTeamsOutgoingWebhookThroughServe(t *testing.T) {
	hook := teamstest.NewOutgoing("OpsBot")
	tm := teamstest.New(t)
	ops := tm.AddChannel("ops")
	dev := tm.AddChannel("dev")
	opsIncoming := tm.AddWebhook("ops", true)
	alice := teamstest.NewUser("alice")

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "opsbot.yaml"), fmt.Sprintf(`
adapters:
  teams:
    outgoing_webhooks:
      ops:
        secret: %s
    webhooks:
      "%s": %s
users:
  - name: alice
    groups: [ops]
    identities: ["teams:%s"]
rules:
  - permission: nightly
    groups: [ops]
commands:
  - name: nightly
    grammar: nightly report
    argv: [sh, -c, "echo report-ready"]
    side_effects: false
    background: true
`, hook.Secret, ops.ID, opsIncoming.URL, alice.AADObjectID))
	logs := &lockedBuffer{}
	defer func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	}()
	srv := startServer(t, dir, logs)
	hook.URL = srv.url + "/hooks/teams"

	status, reply := hook.Say(t, alice, ops, "", "ping")
	require.Equal(t, 200, status, "%v", reply)
	require.Equal(t, "message", reply["type"])
	require.Contains(t, reply["text"], "pong", "the answer is in the response")

	// A job: its acknowledgement is the response, its result comes after
	// and goes to the channel's incoming webhook.
	status, reply = hook.Say(t, alice, ops, "", "nightly report")
	require.Equal(t, 200, status, "%v", reply)
	require.Contains(t, fmt.Sprint(reply), "nightly", "the job's acknowledgement")
	require.Eventually(t, func() bool { return strings.Contains(strings.Join(tm.WebhookSeen(opsIncoming), "\n"), "report-ready") }, 30*time.Second, 20*time.Millisecond, "the job's result through the incoming webhook")

	// Without an incoming webhook, the late post fails for good and is listed.
	status, reply = hook.Say(t, alice, dev, "", "nightly report")
	require.Equal(t, 200, status, "%v", reply)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r := opsbot(t, dir, "", "outbox", "failed", "--json")
		if strings.Contains(r.stdout, "report-ready") && strings.Contains(r.stdout, "adapters.teams.webhooks") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the late post is not in outbox failed:\n%s%s", r.stdout, r.stderr)
		}
	}

	act, _ := hook.Message(alice, ops, "", "ping")
	forged := teamstest.NewOutgoing("OpsBot")
	body, err := json.Marshal(act)
	require.NoError(t, err)
	status, _ = hook.Send(t, body, forged.Sign(body))
	require.Equal(t, 401, status, "a request signed with another token")
	status, _ = hook.Send(t, body, "")
	require.Equal(t, 401, status, "a request without a signature")

	require.False(t, strings.Contains(logs.String(), hook.Secret), "the security token reached the log")
}
