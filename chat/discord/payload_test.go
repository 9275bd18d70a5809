package discord

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/chat"
)

// dispatch reads a gateway dispatch from testdata into v (its d).
func dispatch(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	require.NoError(t, err)
	var p struct {
		D json.RawMessage `json:"d"`
	}
	require.NoError(t, json.Unmarshal(data, &p))
	require.NoError(t, json.Unmarshal(p.D, v))
}

// docAdapter is an adapter that knows the channels of the documentation's examples.
func docAdapter(t *testing.T) *Adapter {
	t.Helper()
	a, err := New(Config{Token: "t"}, nil)
	require.NoError(t, err)
	a.channels["290926798999357250"] = channelInfo{name: "ops", kind: discordgo.ChannelTypeGuildText, guildID: "290926798626357999"}
	a.self = &discordgo.User{ID: "290926444748734465", Username: "opsbot"}
	return a
}

func TestDocumentedMessageCreate(t *testing.T) {
	a := docAdapter(t)
	var m discordgo.MessageCreate
	dispatch(t, "message_create.json", &m)
	got, ok := a.fromMessage(context.Background(), m.Message)
	require.True(t, ok)
	assert.Equal(t, chat.Message{
		ID:   "334385199974967042",
		Room: chat.Room{Adapter: "discord", ID: "290926798999357250", Name: "#ops"},
		From: chat.Identity{Adapter: "discord", ID: "53908099506183680", Name: "mason"},
		Text: "@opsbot deploy api to staging",
	}, got)
	// Channels outside the allow-list are not read.
	a.cfg.Channels = []string{"1"}
	_, ok = a.fromMessage(context.Background(), m.Message)
	assert.False(t, ok)
}

func TestDocumentedButtonClick(t *testing.T) {
	a := docAdapter(t)
	var in discordgo.InteractionCreate
	dispatch(t, "interaction_create.button.json", &in)
	got, ok := a.fromInteraction(context.Background(), in.Interaction)
	require.True(t, ok)
	assert.Equal(t, "846462639134605312", got.ID)
	assert.Equal(t, &chat.Action{ID: "approve", Value: "yes 4821"}, got.Action)
	assert.Equal(t, "yes 4821", got.Text)
	assert.Equal(t, chat.Identity{Adapter: "discord", ID: "53908099506183680", Name: "mason"}, got.From)
	assert.Equal(t, "290926798999357250", got.Room.ID)
}

// TestDocumentedRateLimitResponse: the documentation's 429 body, with its
// headers, becomes a chat.RateLimitError of its retry_after.
func TestDocumentedRateLimitResponse(t *testing.T) {
	body, err := os.ReadFile("testdata/rate_limited.json")
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "65")
		w.Header().Set("X-RateLimit-Limit", "5")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset-After", "0.010")
		w.Header().Set("X-RateLimit-Bucket", "abcd1234")
		w.Header().Set("X-RateLimit-Scope", "user")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	a, err := New(Config{Token: "t", APIURL: srv.URL}, nil)
	require.NoError(t, err)
	_, err = a.Post(context.Background(), chat.Room{Adapter: "discord", ID: "290926798999357250"}, chat.Post{Text: "hi"})
	d, ok := chat.RetryAfter(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, 64*time.Second+570*time.Millisecond, d, "at least Discord's 64.57 s, to the millisecond")
}
