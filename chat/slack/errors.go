package slack

import (
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat"
)

// permanentErrors are Web API errors retrying cannot fix: the outbox marks
// the post failed at once instead of retrying it for minutes.
var permanentErrors = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "msg_too_long": true,
	"no_text": true, "invalid_blocks": true, "invalid_blocks_format": true, "invalid_attachments": true,
	"too_many_attachments": true, "invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "missing_scope": true, "no_permission": true,
	"message_not_found": true, "cant_update_message": true, "edit_window_closed": true,
	"invalid_arguments": true, "invalid_arg_name": true, "restricted_action": true,
	"user_not_in_channel": true, "user_not_found": true, "invalid_name": true, "already_reacted": true,
	"invalid_thread_ts": true, "thread_not_found": true, "file_not_found": true, "invalid_ts": true,
	"ekm_access_denied": true, "team_access_not_granted": true, "not_allowed_token_type": true,
}

// authErrors mean the token itself is refused: Run gives up rather than
// reconnecting forever.
var authErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "not_allowed_token_type": true, "missing_scope": true,
}

// classify turns a slack-go error from method into what the outbox and Run
// understand: a *chat.RateLimitError for a 429 (or the "ratelimited"
// error), chat.ErrPermanent for errors retrying cannot fix, else the error
// as it is (retried with backoff).
func (a *Adapter) classify(method string, err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		a.limits.pause(method, rl.RetryAfter)
		return &chat.RateLimitError{RetryAfter: rl.RetryAfter, Err: fmt.Errorf("slack %s: %w", method, err)}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch {
		case se.Err == "ratelimited":
			return &chat.RateLimitError{Err: fmt.Errorf("slack %s: %w", method, err)}
		case permanentErrors[se.Err]:
			return fmt.Errorf("slack %s: %w (%w)", method, err, chat.ErrPermanent)
		}
		return fmt.Errorf("slack %s: %w", method, err)
	}
	return fmt.Errorf("slack %s: %w", method, err)
}

// isAuthError reports whether err is Slack refusing the token.
func isAuthError(err error) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && authErrors[se.Err]
}
