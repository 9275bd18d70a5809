package auth

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

func TestDecide(t *testing.T) {
	alice := command.Principal{Name: "alice", Groups: []string{"ops"}}
	bob := command.Principal{Name: "bob", Groups: []string{"dev"}}
	admin := command.Principal{Name: "root", Groups: []string{"admins"}}
	guest := command.Principal{Name: "guest:x", Guest: true}
	ops := chat.Room{Adapter: "shell", ID: "ops", Name: "#ops"}
	random := chat.Room{Adapter: "shell", ID: "random", Name: "#random"}
	rules := []store.Rule{
		{ID: 1, Permission: "deploy", Subject: "group:dev"},
		{ID: 2, Permission: "deploy:*", Subject: "group:ops"},
		{ID: 3, Permission: "restart", Subject: "user:bob", Rooms: []string{"#ops"}},
		{ID: 4, Permission: "scale", Subject: "group:dev", Args: map[string][]string{"env": {"staging"}}},
	}
	for _, tc := range []struct {
		name    string
		req     Request
		allowed bool
		missing string
	}{
		{"open command for guest", Request{Principal: guest, Command: "help"}, true, ""},
		{"guest side effect", Request{Principal: guest, Command: "deploy", SideEffects: true}, false, "deploy"},
		{"admin anything", Request{Principal: admin, Command: "x", Permissions: []string{"anything"}, SideEffects: true}, true, ""},
		{"dev deploys staging", Request{Principal: bob, Command: "deploy", Permissions: []string{"deploy"}, SideEffects: true}, true, ""},
		{"dev lacks production", Request{Principal: bob, Command: "deploy", Permissions: []string{"deploy:production"}, SideEffects: true}, false, "deploy:production"},
		{"ops wildcard covers production", Request{Principal: alice, Command: "deploy", Permissions: []string{"deploy:production"}, SideEffects: true}, true, ""},
		{"side effect without permission uses name", Request{Principal: alice, Command: "panic", SideEffects: true}, false, "panic"},
		{"user rule in room", Request{Principal: bob, Command: "restart", Permissions: []string{"restart"}, Room: ops, SideEffects: true}, true, ""},
		{"user rule other room", Request{Principal: bob, Command: "restart", Permissions: []string{"restart"}, Room: random, SideEffects: true}, false, "restart"},
		{"arg narrowed ok", Request{Principal: bob, Command: "scale", Permissions: []string{"scale"}, Args: command.Args{"env": "Staging"}}, true, ""},
		{"arg narrowed refused", Request{Principal: bob, Command: "scale", Permissions: []string{"scale"}, Args: command.Args{"env": "production"}}, false, "scale"},
		{"every permission needed", Request{Principal: bob, Command: "deploy", Permissions: []string{"deploy", "deploy:force"}}, false, "deploy:force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(rules, tc.req)
			require.Equal(t, tc.allowed, d.Allowed, d.Reason)
			require.Equal(t, tc.missing, d.Missing)
		})
	}
}

func TestCovers(t *testing.T) {
	require.True(t, Covers("*", "x"))
	require.True(t, Covers("deploy:*", "deploy"))
	require.True(t, Covers("deploy:*", "deploy:production:web"))
	require.False(t, Covers("deploy", "deploy:production"))
	require.False(t, Covers("deploy:*", "deployx"))
}
