package slack

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat"
)

// A slash command may be run in a channel the bot is not a member of (a
// DM between two people, a channel it was never invited to), where
// chat.postMessage fails. Its response_url (docs: "Handling user
// interaction", message responses) can still post there: up to five times
// within 30 minutes. The adapter keeps the latest one per channel and uses
// it when a post to that channel is refused for membership.

const (
	responseURLLife = 30 * time.Minute
	responseURLUses = 5
)

type responseURL struct {
	url     string
	expires time.Time
	uses    int
}

// responseURLs are the latest slash command response URLs, by channel.
type responseURLs struct {
	mu sync.Mutex
	by map[string]*responseURL
}

func newResponseURLs() *responseURLs { return &responseURLs{by: map[string]*responseURL{}} }

func (r *responseURLs) remember(channel, url string, now time.Time) {
	if url == "" || channel == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch, u := range r.by {
		if !now.Before(u.expires) {
			delete(r.by, ch)
		}
	}
	r.by[channel] = &responseURL{url: url, expires: now.Add(responseURLLife)}
}

// take returns a usable response URL for channel, counting the use.
func (r *responseURLs) take(channel string, now time.Time) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, ok := r.by[channel]
	if !ok || !now.Before(u.expires) || u.uses >= responseURLUses {
		return "", false
	}
	u.uses++
	return u.url, true
}

// notMember reports whether err is Slack refusing a post for the bot's
// membership of the channel.
func notMember(err error) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && (se.Err == "not_in_channel" || se.Err == "channel_not_found")
}

// trustedResponseURL reports whether u may be posted to: an https URL on
// Slack's domain, or under the configured api_url (a fake Slack in tests).
func (a *Adapter) trustedResponseURL(u string) bool {
	if a.cfg.APIURL != "" && strings.HasPrefix(u, a.cfg.APIURL) {
		return true
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" {
		return false
	}
	host := strings.ToLower(p.Hostname())
	return host == "slack.com" || strings.HasSuffix(host, ".slack.com")
}

// respond posts r to channel through a slash command's response URL, as an
// in-channel message. The Ref has no message timestamp (Slack does not
// return one), so threads and edits of it fall back to the room.
func (a *Adapter) respond(ctx context.Context, room chat.Room, r rendered) (chat.Ref, bool, error) {
	u, ok := a.responses.take(room.ID, a.clock.Now())
	if !ok {
		return chat.Ref{}, false, nil
	}
	msg := &slack.WebhookMessage{Text: r.fallback, ResponseType: slack.ResponseTypeInChannel, Attachments: r.attachments}
	if len(r.attachments) == 0 && len(r.blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: r.blocks}
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, u, a.http, msg); err != nil {
		return chat.Ref{}, true, a.classify("response_url", err)
	}
	return chat.Ref{Room: room, ID: "response:" + nonce()}, true, nil
}
