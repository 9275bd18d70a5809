package scripts

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/config"
)

// replies is a command.Responder that keeps what it is told.
type replies struct{ posts []chat.Post }

func (r *replies) Reply(_ context.Context, p chat.Post) (chat.Ref, error) {
	r.posts = append(r.posts, p)
	return chat.Ref{ID: "r"}, nil
}
func (r *replies) PostTo(ctx context.Context, _ chat.Room, p chat.Post) (chat.Ref, error) {
	return r.Reply(ctx, p)
}
func (r *replies) PostInThread(ctx context.Context, _ chat.Ref, p chat.Post) (chat.Ref, error) {
	return r.Reply(ctx, p)
}
func (r *replies) OpenThread(ctx context.Context, _, _ string, p chat.Post) (chat.Ref, error) {
	return r.Reply(ctx, p)
}

func TestDryRun(t *testing.T) {
	m := New()
	m.clock = clock.Real{}
	for _, tc := range []struct {
		cmd  Command
		want string
	}{
		{Command{Name: "deploy", Grammar: "deploy {app}", Argv: []string{"./deploy.sh", "{app}", "--by={user}"},
			Dir: "/srv/deploy", Env: map[string]config.Secret{"TOKEN": "t0ps3cret", "REGION": "eu"}, Background: true},
			"dry run: `deploy` would run, in /srv/deploy, with a 5m timeout:\n```\n[\"./deploy.sh\",\"api; rm -rf /\",\"--by=alice\"]\n```\n" +
				"environment: REGION, TOKEN (values hidden)\nas a background job"},
		{Command{Name: "hook", Grammar: "hook {app}", HTTP: &HTTPAction{URL: "https://ci.example.com/hooks/{app}?by={user}",
			Headers: map[string]config.Secret{"Authorization": "Bearer t0ps3cret"}, Body: `{"app":"{app}"}`}},
			"dry run: `hook` would send, with a 5m timeout:\n```\nPOST https://ci.example.com/hooks/api%3B%20rm%20-rf%20%2F?by=alice\n" +
				"Authorization: [hidden]\nContent-Type: application/json\n\n{\"app\":\"api; rm -rf /\"}\n```"},
	} {
		t.Run(tc.cmd.Name, func(t *testing.T) {
			r := &replies{}
			call := &command.Call{Spec: &command.Spec{Name: tc.cmd.Name}, Args: command.Args{"app": "api; rm -rf /"},
				User: command.Principal{Name: "alice"}, Msg: chat.Message{Room: room}, DryRun: true, Responder: r}
			require.NoError(t, m.handle(newDef(tc.cmd.withDefaults()))(context.Background(), call))
			require.Len(t, r.posts, 1)
			require.Equal(t, tc.want, r.posts[0].Text)
			require.NotContains(t, r.posts[0].Text, "t0ps3cret")
		})
	}
}
