package teams_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/teams"
	"github.com/opsbot/opsbot/chat/teams/teamstest"
)

// BenchmarkMessagingEndpoint is the cost of one inbound activity at the
// messaging endpoint: JWT verification (RSA-2048 signature, claims, key
// endorsement), decoding, and the hand-over to the bot.
func BenchmarkMessagingEndpoint(b *testing.B) {
	srv := teamstest.New(b)
	a, err := teams.New(testConfig(srv), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan chat.Message, 1024)
	go func() { _ = a.Run(ctx, in) }()
	go func() {
		for range in {
		}
	}()
	ops := srv.AddChannel("ops")
	act := map[string]any{
		"type": "message", "id": "1763800000123", "channelId": "msteams", "serviceUrl": srv.ServiceURL,
		"from":         map[string]any{"id": "29:1abc", "name": "alice", "aadObjectId": "6b1d5c4e-2f3a-4b8c-9d0e-1f2a3b4c5d6e"},
		"conversation": map[string]any{"id": ops.ID + ";messageid=1763800000123", "conversationType": "channel"},
		"recipient":    map[string]any{"id": "28:" + srv.AppID, "name": "opsbot"},
		"text":         "<at>opsbot</at> deploy api to production",
		"entities":     []any{map[string]any{"type": "mention", "text": "<at>opsbot</at>", "mentioned": map[string]any{"id": "28:" + srv.AppID}}},
	}
	body, _ := json.Marshal(act)
	token := "Bearer " + srv.Token(nil)
	h := a.MessagesHandler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, teams.MessagesPath, strings.NewReader(string(body)))
		req.Header.Set("Authorization", token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkPostCard is one post with an Adaptive Card (severity, fields,
// buttons) through the connector of the fake, over loopback HTTP.
func BenchmarkPostCard(b *testing.B) {
	srv := teamstest.New(b)
	a, err := teams.New(testConfig(srv), nil)
	if err != nil {
		b.Fatal(err)
	}
	room := chat.Room{Adapter: "teams", ID: srv.AddChannel("ops").ID}
	p := chat.Post{Text: "Deploy *api* to production?", Severity: chat.SeverityWarning,
		Fields:  []chat.Field{{Name: "version", Value: "v1.42.0"}, {Name: "by", Value: "alice"}},
		Buttons: []chat.Button{{ID: "yes", Label: "Approve", Value: "yes 4821"}, {ID: "no", Label: "Cancel", Value: "no 4821"}}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Post(ctx, room, p); err != nil {
			b.Fatal(err)
		}
	}
}
