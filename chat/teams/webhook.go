package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/opsbot/opsbot/chat"
)

// Incoming webhooks (a channel's "Incoming Webhook" connector, or a
// Workflows flow "when a Teams webhook request is received") take a
// message with one Adaptive Card and answer nothing but success: no ID to
// thread under or edit, no buttons that reach the bot. They make
// notification-only rooms for teams that cannot install a bot.

var webhookSeq atomic.Int64

// webhookURL returns the URL of the webhook room id, if it is one.
func (a *Adapter) webhookURL(id string) (string, bool) {
	u, ok := a.cfg.Webhooks[id]
	return u.Reveal(), ok
}

// postWebhook posts p to a webhook room as an Adaptive Card. Buttons are
// left out: a click could not reach the bot.
func (a *Adapter) postWebhook(ctx context.Context, to chat.Room, url string, p chat.Post) (chat.Ref, error) {
	p.Buttons = nil
	card := a.card(p)
	msg := map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": adaptiveCardType,
			"contentUrl":  nil,
			"content":     card,
		}},
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return chat.Ref{}, fmt.Errorf("teams: webhook %s: encode: %w", to.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return chat.Ref{}, fmt.Errorf("teams: webhook %s: %w", to.ID, chat.ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		// The URL is a secret: say which room and why, not where.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return chat.Ref{}, fmt.Errorf("teams: webhook %s: %w", to.ID, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := webhookError(resp, string(answer)); err != nil {
		return chat.Ref{}, fmt.Errorf("teams: webhook %s: %w", to.ID, err)
	}
	id := "webhook-" + strconv.FormatInt(webhookSeq.Add(1), 10)
	return chat.Ref{Room: chat.Room{Adapter: Name, ID: to.ID, Name: to.Name}, ID: id}, nil
}

// webhookError reads a webhook's answer. The connector answers 200 and "1"
// on success, and may answer 200 with a text naming the HTTP error it met
// ("Microsoft Teams endpoint returned HTTP error 429"); Workflows answer 202.
func webhookError(resp *http.Response, answer string) error {
	status := resp.StatusCode
	text := strings.TrimSpace(answer)
	if status/100 == 2 {
		switch {
		case text == "" || text == "1" || status == http.StatusAccepted:
			return nil
		case strings.Contains(text, "HTTP error 429"):
			status = http.StatusTooManyRequests
		case strings.Contains(text, "HTTP error 413"):
			status = http.StatusRequestEntityTooLarge
		default:
			return fmt.Errorf("%w: the webhook refused the message: %.200s", chat.ErrPermanent, text)
		}
	}
	err := fmt.Errorf("HTTP %d: %.200s", status, text)
	switch {
	case status == http.StatusTooManyRequests:
		return &chat.RateLimitError{RetryAfter: retryAfter(resp.Header.Get("Retry-After")), Err: err}
	case status == http.StatusRequestTimeout || status == http.StatusPreconditionFailed:
		return err
	case status >= 400 && status < 500:
		return fmt.Errorf("%w: %w", chat.ErrPermanent, err)
	}
	return err
}
