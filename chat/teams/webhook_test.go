package teams_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/teams"
	"github.com/opsbot/opsbot/chat/teams/teamstest"
	"github.com/opsbot/opsbot/config"
)

// webhookAdapter is an adapter with only webhook rooms: "alerts" (an
// Office 365 connector webhook) and "deploys" (a Workflows webhook).
func webhookAdapter(t *testing.T) (*teams.Adapter, *teamstest.Server, map[string]*teamstest.Webhook, *syncBuffer) {
	t.Helper()
	srv := teamstest.New(t)
	hooks := map[string]*teamstest.Webhook{"alerts": srv.AddWebhook("alerts", false), "deploys": srv.AddWebhook("deploys", true)}
	logs := &syncBuffer{}
	a, err := teams.New(teams.Config{
		Webhooks:       map[string]config.Secret{"alerts": config.Secret(hooks["alerts"].URL), "deploys": config.Secret(hooks["deploys"].URL)},
		RequestTimeout: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, h := range hooks {
			if bytes.Contains(logs.Bytes(), []byte(h.URL)) {
				t.Errorf("a webhook URL appears in the logs")
			}
		}
	})
	return a, srv, hooks, logs
}

func TestWebhookRooms(t *testing.T) {
	a, srv, hooks, _ := webhookAdapter(t)
	if a.Routes() != nil {
		t.Errorf("a webhook-only adapter mounts a messaging endpoint")
	}
	ctx := context.Background()
	sender := chat.NewSender(a)
	for name, hook := range hooks {
		t.Run(name, func(t *testing.T) {
			room := chat.Room{Adapter: "teams", ID: name}
			ref, err := sender.Post(ctx, room, chat.Post{Text: "api is *down*", Severity: chat.SeverityCritical, ThreadKey: "incident #7",
				Fields:  []chat.Field{{Name: "service", Value: "api"}},
				Links:   []chat.Link{{Title: "runbook", URL: "https://wiki.example.com/api"}},
				Buttons: []chat.Button{{ID: "ack", Label: "Acknowledge", Value: "ack 7"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sender.PostInThread(ctx, ref, chat.Post{Text: "paged alice"}); err != nil {
				t.Fatal(err)
			}
			if _, err := sender.Update(ctx, ref, chat.Post{Text: "api is back", Severity: chat.SeveritySuccess}); err != nil {
				t.Fatal(err)
			}
			want := []string{"api is **down**\nservice: api\n[runbook]", "[incident #7] paged alice", "api is back"}
			if got := srv.WebhookSeen(hook); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("seen %q, want %q (buttons left out, thread key kept, the update posted anew)", got, want)
			}
			card := srv.WebhookPosts(hook)[0]["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
			if style := card["body"].([]any)[0].(map[string]any)["style"]; style != "attention" {
				t.Errorf("critical container style %v", style)
			}
		})
	}
	if _, err := a.Post(ctx, chat.Room{Adapter: "teams", ID: "19:x@thread.tacv2"}, chat.Post{Text: "x"}); !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("a conversation without a bot: %v, want permanent", err)
	}
}

func TestWebhookRateLimits(t *testing.T) {
	a, srv, hooks, _ := webhookAdapter(t)
	ctx := context.Background()
	for _, name := range []string{"alerts", "deploys"} {
		srv.Throttle(1, 2*time.Second)
		_, err := a.Post(ctx, chat.Room{Adapter: "teams", ID: name}, chat.Post{Text: "x"})
		if _, ok := chat.RetryAfter(err); !ok || errors.Is(err, chat.ErrPermanent) {
			t.Errorf("%s throttled: %v, want a RateLimitError", name, err)
		}
		if err != nil && strings.Contains(err.Error(), hooks[name].URL) {
			t.Errorf("the error shows the webhook URL: %v", err)
		}
		if _, err := a.Post(ctx, chat.Room{Adapter: "teams", ID: name}, chat.Post{Text: strings.Repeat("y", teamstest.MaxActivity)}); !errors.Is(err, chat.ErrPermanent) {
			t.Errorf("%s oversized: %v, want permanent", name, err)
		}
	}
	// The Workflows webhook says how long to wait.
	srv.Throttle(1, 3*time.Second)
	_, err := a.Post(ctx, chat.Room{Adapter: "teams", ID: "deploys"}, chat.Post{Text: "x"})
	if d, _ := chat.RetryAfter(err); d != 3*time.Second {
		t.Errorf("Retry-After %s, want 3s", d)
	}
}

func TestWebhookConfig(t *testing.T) {
	secretURL := "https://example.webhook.office.com/webhookb2/secret-part"
	tests := []struct {
		name string
		cfg  teams.Config
		want string
	}{
		{"webhooks only", teams.Config{Webhooks: map[string]config.Secret{"alerts": config.Secret(secretURL)}}, ""},
		{"nothing", teams.Config{}, "app_id"},
		{"password without app", teams.Config{AppPassword: "pw", Webhooks: map[string]config.Secret{"alerts": config.Secret(secretURL)}}, "app_id"},
		{"bad url", teams.Config{Webhooks: map[string]config.Secret{"alerts": "not a url secret-part"}}, "webhooks.alerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v does not name %s", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret-part") {
				t.Errorf("the error shows the webhook URL: %v", err)
			}
		})
	}
}

// A webhook that cannot be reached fails the post without naming its URL.
func TestWebhookNetworkErrorHidesTheURL(t *testing.T) {
	a, err := teams.New(teams.Config{Webhooks: map[string]config.Secret{"alerts": "http://127.0.0.1:1/webhookb2/secret-part"}, RequestTimeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Post(context.Background(), chat.Room{Adapter: "teams", ID: "alerts"}, chat.Post{Text: "x"})
	if err == nil || errors.Is(err, chat.ErrPermanent) {
		t.Fatalf("post to an unreachable webhook: %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "secret-part") {
		t.Errorf("the error shows the webhook URL: %v", err)
	}
}
