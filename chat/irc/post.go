package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lrstanley/girc"

	"github.com/opsbot/opsbot/chat"
)

// hostLen is the longest host name, assumed for our own host until a JOIN shows it.
const hostLen = 63

// ErrNotConnected is returned by Post when the bot is not connected (or not
// in the channel) within post_timeout; posting again later can succeed.
var ErrNotConnected = errors.New("not connected")

// ErrUnconfirmed is returned by Post when the connection ended before the
// server confirmed the post's lines: some may have been delivered.
var ErrUnconfirmed = errors.New("connection lost before the server confirmed the post")

// sendError is an error reply of the server to a post.
type sendError struct{ code, target, reason string }

func (e *sendError) Error() string {
	return fmt.Sprintf("server replied %s to the post to %s: %s", e.code, e.target, e.reason)
}

// Post sends p to a channel or a nick (to.ID), one PRIVMSG per line of
// text, each line cut to fit the 512-byte limit, at the pace of the flood
// control. It joins a channel it is not in first. It returns once the server
// has processed every line (a PING sent after them is answered), so that an
// error means the post may not have been delivered and can be retried.
func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	target := to.ID
	if err := checkTarget(target); err != nil {
		return chat.Ref{}, fmt.Errorf("irc: post to %q: %w: %w", target, chat.ErrPermanent, err)
	}
	s, err := a.waitReady(ctx, target)
	if err != nil {
		return chat.Ref{}, fmt.Errorf("irc: post to %s: %w", target, err)
	}
	ref := chat.Ref{Room: to, ID: a.ids.next("post")}
	mentions := a.mentions(p.Mentions)
	a.mu.Lock()
	lines := a.lines(p, mentions, s, target)
	a.mu.Unlock()
	if len(lines) == 0 {
		return ref, nil
	}
	if err := a.send(ctx, s, target, lines); err != nil {
		return chat.Ref{}, fmt.Errorf("irc: post to %s: %w", target, err)
	}
	return ref, nil
}

// checkTarget refuses what cannot be a PRIVMSG target.
func checkTarget(target string) error {
	if target == "" || strings.ContainsAny(target, " ,\r\n\x00") || target[0] == ':' {
		return errors.New("not a channel or nick")
	}
	return nil
}

// waitReady waits until the bot is registered and, for a channel, in it
// (joining it if it is not one it joins anyway).
func (a *Adapter) waitReady(ctx context.Context, target string) (*session, error) {
	timeout := a.clock.After(a.cfg.PostTimeout)
	for {
		var join bool
		a.mu.Lock()
		s, changed := a.current(), a.changed
		ready, failure := false, ""
		if s != nil && s.registered {
			if !isChannel(target) {
				ready = true
			} else {
				c := s.channels[fold(target)]
				if c == nil {
					c = s.channel(target)
					a.extra[fold(target)] = target
					join = true
				}
				ready, failure = c.joined, c.failure
			}
		}
		a.mu.Unlock()
		if join {
			a.log.Info("irc: joining to post", "channel", target)
			a.sendJoin(target, "")
		}
		switch {
		case ready:
			return s, nil
		case failure != "":
			return nil, fmt.Errorf("cannot join: %s", failure)
		}
		select {
		case <-changed:
		case <-timeout:
			if isChannel(target) {
				return nil, fmt.Errorf("%w (or not in the channel) after %s", ErrNotConnected, a.cfg.PostTimeout)
			}
			return nil, fmt.Errorf("%w after %s", ErrNotConnected, a.cfg.PostTimeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// lines renders p, after the nicks it mentions, as the PRIVMSG texts to
// send to target; a.mu must be held.
func (a *Adapter) lines(p chat.Post, mentions string, s *session, target string) []string {
	text := p.Text
	if a.FormatsMarkdown() {
		text = chat.Render(text, renderer{})
	} else {
		text = sanitize(text)
	}
	if mentions != "" {
		text = mentions + ": " + text
	}
	user, host := "~"+a.cfg.User, strings.Repeat("x", hostLen)
	if s.self != nil {
		user, host = s.self.Ident, s.self.Host
	}
	budget := textBudget(s.nick, user, host, target)
	color := ""
	if a.FormatsMarkdown() {
		color = severityColor(p.Severity)
	}
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if isBlank(line) {
			continue
		}
		if color != "" {
			line, color = colorLine(line, color), "" // the first line: the headline
		}
		out = append(out, splitLine(line, budget)...)
	}
	return out
}

// deadlineShare is the share of the time left before ctx's deadline that a
// post's lines may take at the flood control's pace; the rest is for the
// confirmation.
const deadlineShare = 0.8

// fit cuts lines to what the flood control lets through before ctx's
// deadline (the outbox gives each delivery one), ending with a line that
// says how many were cut. Without the cut, a post longer than the deadline
// allows would fail every time, after sending its beginning again and again.
func (a *Adapter) fit(ctx context.Context, target string, lines []string) []string {
	dl, ok := ctx.Deadline()
	if !ok {
		return lines
	}
	n := a.bucket.Fits(time.Duration(float64(time.Until(dl)) * deadlineShare))
	if n >= len(lines) {
		return lines
	}
	n = max(n, 2)
	cut := len(lines) - (n - 1)
	a.log.Warn("irc: post cut to what the flood limit lets through before the delivery deadline",
		"target", target, "lines", len(lines), "cut", cut, "flood_rate", a.cfg.Flood.Rate)
	return append(lines[:n-1:n-1], fmt.Sprintf("… %d more lines cut: the IRC flood limit allows no more in one post", cut))
}

// mentions names the users a post mentions, by nick: the nick of a guest
// ID, or of a user the bot sees logged in to the account.
func (a *Adapter) mentions(ids []string) string {
	var nicks []string
	for _, id := range ids {
		if nick, ok := strings.CutPrefix(id, guestPrefix); ok {
			nicks = append(nicks, nick)
			continue
		}
		for _, u := range a.client.Users() {
			if u.Extras.Account == id {
				nicks = append(nicks, u.Nick)
				break
			}
		}
	}
	return sanitize(strings.Join(nicks, ", "))
}

// send sends lines to target through the flood control, then a PING, and
// waits for its PONG: the server answers it only after it has processed the
// lines, so an error reply (no such nick, cannot send to channel) comes
// before it.
func (a *Adapter) send(ctx context.Context, s *session, target string, lines []string) error {
	lines = a.fit(ctx, target, lines)
	key := fold(target)
	token := a.ids.next("confirm")
	pong := make(chan struct{})
	a.mu.Lock()
	s.waiting[key]++
	s.pongs[token] = pong
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if s.waiting[key]--; s.waiting[key] == 0 {
			delete(s.waiting, key)
			delete(s.failures, key)
		}
		delete(s.pongs, token)
		a.mu.Unlock()
	}()
	for i, line := range lines {
		if err := a.bucket.Wait(ctx); err != nil {
			return err
		}
		select {
		case <-s.done:
			return fmt.Errorf("%w (%d of %d lines sent)", ErrUnconfirmed, i, len(lines))
		default:
		}
		if err := a.client.Cmd.SendRawNoSplit("PRIVMSG " + target + " :" + line); err != nil {
			return fmt.Errorf("%w: line %d: %w", chat.ErrPermanent, i+1, err)
		}
	}
	a.client.Send(&girc.Event{Command: girc.PING, Params: []string{token}})
	timeout := a.clock.After(a.cfg.PostTimeout)
	select {
	case <-pong:
	case <-s.done:
		return ErrUnconfirmed
	case <-timeout:
		return fmt.Errorf("%w: no answer within %s", ErrUnconfirmed, a.cfg.PostTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	a.mu.Lock()
	failure := s.failures[key]
	a.mu.Unlock()
	if failure != nil {
		var se *sendError
		if errors.As(failure, &se) && se.code == girc.ERR_NOSUCHNICK {
			return fmt.Errorf("%w: %w", chat.ErrPermanent, failure)
		}
		return failure
	}
	return nil
}
