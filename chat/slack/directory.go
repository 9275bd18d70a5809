package slack

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/opsbot/opsbot/chat"
)

// directory caches user and channel names, both ways: IDs in inbound text
// become names for commands, names in replies become mentions again.
type directory struct {
	a *Adapter

	mu           sync.Mutex
	userNames    map[string]string // U… → name
	userIDs      map[string]string // folded name → U…
	channelNames map[string]string // C… → name (without #)
	channelIDs   map[string]string // folded name → C…
}

func newDirectory(a *Adapter) *directory {
	return &directory{a: a, userNames: map[string]string{}, userIDs: map[string]string{},
		channelNames: map[string]string{}, channelIDs: map[string]string{}}
}

func (d *directory) learnUser(id, name string) {
	if id == "" || name == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.userNames[id] = name
	d.userIDs[strings.ToLower(name)] = id
}

func (d *directory) learnChannel(id, name string) {
	name = strings.TrimPrefix(name, "#")
	if id == "" || name == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.channelNames[id] = name
	d.channelIDs[strings.ToLower(name)] = id
}

// userName is the display name of user id, asking Slack (users.info) the
// first time; the ID itself when Slack can't say.
func (d *directory) userName(ctx context.Context, id string) string {
	d.mu.Lock()
	name, ok := d.userNames[id]
	d.mu.Unlock()
	if ok {
		return name
	}
	if err := d.a.limits.wait(ctx, "users.info"); err != nil {
		return id
	}
	u, err := d.a.api.GetUserInfoContext(ctx, id)
	if err != nil {
		d.a.log.Debug("slack: users.info failed", "user", id, "err", d.a.classify("users.info", err))
		return id
	}
	name = displayName(u)
	d.learnUser(id, name)
	return name
}

func displayName(u *slack.User) string {
	for _, n := range []string{u.Profile.DisplayName, u.Name, u.RealName, u.Profile.RealName} {
		if n != "" {
			return n
		}
	}
	return u.ID
}

// userID is the ID of the user named name, if known.
func (d *directory) userID(name string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.userIDs[strings.ToLower(name)]
	return id, ok
}

// channelName is the name of channel id (without #), asking Slack
// (conversations.info) the first time; "" when Slack can't say.
func (d *directory) channelName(ctx context.Context, id string) string {
	d.mu.Lock()
	name, ok := d.channelNames[id]
	d.mu.Unlock()
	if ok {
		return name
	}
	if !looksLikeChannelID(id) || strings.HasPrefix(id, "D") {
		return ""
	}
	if err := d.a.limits.wait(ctx, "conversations.info"); err != nil {
		return ""
	}
	c, err := d.a.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
	if err != nil {
		d.a.log.Debug("slack: conversations.info failed", "channel", id, "err", d.a.classify("conversations.info", err))
		return ""
	}
	d.learnChannel(id, c.Name)
	return c.Name
}

// channelID resolves a channel as written in config or a room ("#ops",
// "ops", "C024BE91L") to its ID, listing the workspace's channels
// (conversations.list) when the name is not known yet.
func (d *directory) channelID(ctx context.Context, s string) (string, error) {
	s = strings.TrimSpace(s)
	if looksLikeChannelID(s) {
		return s, nil
	}
	name := strings.ToLower(strings.TrimPrefix(s, "#"))
	d.mu.Lock()
	id, ok := d.channelIDs[name]
	d.mu.Unlock()
	if ok {
		return id, nil
	}
	if err := d.list(ctx); err != nil {
		return "", err
	}
	d.mu.Lock()
	id, ok = d.channelIDs[name]
	d.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("no channel named #%s (is the bot invited to it?): %w", name, chat.ErrPermanent)
	}
	return id, nil
}

// list reads every public and private channel the bot can see.
func (d *directory) list(ctx context.Context) error {
	params := &slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: 200}
	for {
		if err := d.a.limits.wait(ctx, "conversations.list"); err != nil {
			return err
		}
		chans, next, err := d.a.api.GetConversationsContext(ctx, params)
		if err != nil {
			return d.a.classify("conversations.list", err)
		}
		for _, c := range chans {
			d.learnChannel(c.ID, c.Name)
		}
		if next == "" {
			break
		}
		params.Cursor = next
	}
	return nil
}

// looksLikeChannelID reports whether s is a Slack conversation ID: C…
// (channel), G… (private channel or group), D… (direct message).
func looksLikeChannelID(s string) bool {
	if len(s) < 9 || strings.IndexByte("CGD", s[0]) < 0 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// looksLikeUserID reports whether s is a Slack user ID (U… or W…).
func looksLikeUserID(s string) bool {
	if len(s) < 9 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// knownChannelName is the cached name of channel id, or "".
func (d *directory) knownChannelName(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.channelNames[id]
}
