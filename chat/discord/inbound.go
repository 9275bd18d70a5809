package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/opsbot/opsbot/chat"
)

// item is an inbound event waiting for delivery: a message or an interaction.
type item struct {
	msg *discordgo.Message
	in  *discordgo.Interaction
}

// Message types a person sends (Resources/Message, Message Types).
const (
	messageDefault = 0
	messageReply   = 19
)

func (a *Adapter) onMessageCreate(_ *discordgo.Session, m *discordgo.MessageCreate) {
	if m.Message == nil || m.Author == nil {
		return
	}
	a.mu.Lock()
	self := a.self != nil && m.Author.ID == a.self.ID
	a.mu.Unlock()
	if self || m.Author.Bot || m.WebhookID != "" || (m.Type != messageDefault && m.Type != messageReply) {
		return
	}
	a.enqueue(item{msg: m.Message})
}

func (a *Adapter) onInteraction(_ *discordgo.Session, i *discordgo.InteractionCreate) {
	if i.Interaction == nil {
		return
	}
	switch i.Type {
	case discordgo.InteractionMessageComponent, discordgo.InteractionApplicationCommand:
		a.enqueue(item{in: i.Interaction})
		// Discord wants an answer within 3 seconds, whatever the bot does.
		go a.acknowledge(i.Interaction)
	}
}

// acknowledge answers an interaction: a click with DEFERRED_UPDATE_MESSAGE
// (the message stays as it is; the bot's answer follows as a post), the
// slash command by showing the command in the channel.
func (a *Adapter) acknowledge(i *discordgo.Interaction) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.PostTimeout)
	defer cancel()
	resp := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
	if i.Type == discordgo.InteractionApplicationCommand {
		text, _ := commandText(i)
		resp = &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{
				Content:         clip("/"+a.cfg.SlashCommand+" "+chat.Render("`"+strings.ReplaceAll(text, "`", "'")+"`", renderer{}), MaxContentLen),
				AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
			},
		}
	}
	err := a.s.InteractionRespond(i, resp, discordgo.WithContext(ctx))
	var re *discordgo.RESTError
	switch {
	case err == nil:
	case errors.As(err, &re) && re.Message != nil && re.Message.Code == discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged:
		// Another replica answered first; it also claims the message.
		a.log.Debug("discord: interaction answered elsewhere", "interaction", i.ID)
	default:
		a.log.Warn("discord: answering an interaction", "interaction", i.ID, "err", err)
	}
}

// commandText is the command option of the slash command.
func commandText(i *discordgo.Interaction) (string, bool) {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return "", false
	}
	for _, o := range data.Options {
		if o.Name == "command" {
			if s, ok := o.Value.(string); ok {
				return strings.TrimSpace(s), true
			}
		}
	}
	return "", false
}

// enqueue queues an inbound event, so that reading the gateway never waits
// for the bot or for a channel lookup.
func (a *Adapter) enqueue(it item) {
	a.mu.Lock()
	a.inbox = append(a.inbox, it)
	a.mu.Unlock()
	select {
	case a.inboxCh <- struct{}{}:
	default:
	}
}

// deliver turns queued events into chat messages and passes them to in, in
// order, until ctx ends.
func (a *Adapter) deliver(ctx context.Context, in chan<- chat.Message) {
	for {
		a.mu.Lock()
		batch := a.inbox
		a.inbox = nil
		a.mu.Unlock()
		for _, it := range batch {
			m, ok := a.convert(ctx, it)
			if !ok {
				continue
			}
			select {
			case in <- m:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-a.inboxCh:
		case <-ctx.Done():
			return
		}
	}
}

func (a *Adapter) convert(ctx context.Context, it item) (chat.Message, bool) {
	if it.msg != nil {
		return a.fromMessage(ctx, it.msg)
	}
	return a.fromInteraction(ctx, it.in)
}

// place is where a message was said: its room, and its thread if any.
func (a *Adapter) place(ctx context.Context, channelID, guildID string) (chat.Room, chat.Ref) {
	info, err := a.channel(ctx, channelID)
	if err != nil {
		a.log.Warn("discord: looking up a channel", "channel", channelID, "err", err)
		return chat.Room{Adapter: Name, ID: channelID}, chat.Ref{}
	}
	if info.thread() && info.parent != "" {
		pinfo, _ := a.channel(ctx, info.parent)
		room := a.room(info.parent, pinfo)
		return room, chat.Ref{Room: room, ID: channelID, Thread: channelID}
	}
	return a.room(channelID, info), chat.Ref{}
}

func (a *Adapter) fromMessage(ctx context.Context, m *discordgo.Message) (chat.Message, bool) {
	direct := m.GuildID == ""
	room, thread := a.place(ctx, m.ChannelID, m.GuildID)
	if !a.allowed(room.ID, direct) {
		return chat.Message{}, false
	}
	text := m.ContentWithMentionsReplaced()
	if text == "" {
		if len(m.Attachments) == 0 && len(m.Embeds) == 0 {
			a.warnNoContent()
		}
		return chat.Message{}, false
	}
	return chat.Message{
		ID:     m.ID,
		Room:   room,
		From:   chat.Identity{Adapter: Name, ID: m.Author.ID, Name: m.Author.Username},
		Text:   text,
		Thread: thread,
		Direct: direct,
	}, true
}

// warnNoContent logs, once, that messages arrive without their text.
func (a *Adapter) warnNoContent() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.warned {
		a.warned = true
		a.log.Warn("discord: a message arrived without its text: enable the Message Content intent (developer portal, Bot tab) or mention the bot")
	}
}

func (a *Adapter) fromInteraction(ctx context.Context, i *discordgo.Interaction) (chat.Message, bool) {
	user := i.User
	if i.Member != nil && i.Member.User != nil {
		user = i.Member.User
	}
	if user == nil {
		return chat.Message{}, false
	}
	direct := i.GuildID == ""
	room, thread := a.place(ctx, i.ChannelID, i.GuildID)
	if !a.allowed(room.ID, direct) {
		return chat.Message{}, false
	}
	m := chat.Message{ID: i.ID, Room: room, Thread: thread, From: chat.Identity{Adapter: Name, ID: user.ID, Name: user.Username}}
	switch i.Type {
	case discordgo.InteractionMessageComponent:
		data, ok := i.Data.(discordgo.MessageComponentInteractionData)
		if !ok {
			return chat.Message{}, false
		}
		act, ok := a.action(data.CustomID)
		if !ok {
			a.log.Warn("discord: a click on a button this adapter does not know", "custom_id", data.CustomID)
			return chat.Message{}, false
		}
		m.Text, m.Action = act.Value, &act
	case discordgo.InteractionApplicationCommand:
		text, ok := commandText(i)
		if !ok || text == "" {
			return chat.Message{}, false
		}
		// A slash command is addressed to the bot, as a direct message is.
		m.Text, m.Direct = text, true
	}
	return m, true
}

// channel returns what is known of a channel, asking Discord once.
func (a *Adapter) channel(ctx context.Context, id string) (channelInfo, error) {
	a.mu.Lock()
	info, ok := a.channels[id]
	a.mu.Unlock()
	if ok {
		return info, nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	c, err := a.s.Channel(id, discordgo.WithContext(ctx))
	if err != nil {
		return channelInfo{}, wrap("look up channel "+id, err)
	}
	info = channelInfo{name: c.Name, kind: c.Type, parent: c.ParentID, guildID: c.GuildID}
	a.mu.Lock()
	a.channels[id] = info
	a.mu.Unlock()
	return info, nil
}

// channelID resolves a room to a channel ID: an ID as is, "#name" by the
// guild channels the gateway announced.
func (a *Adapter) channelID(room chat.Room) (string, error) {
	id := room.ID
	if snowflakeRE.MatchString(id) {
		return id, nil
	}
	name, ok := strings.CutPrefix(id, "#")
	if !ok {
		return "", fmt.Errorf("discord: room %q is neither a channel ID nor #name: %w", id, chat.ErrPermanent)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var found []string
	for cid, info := range a.channels {
		if info.name == name && !info.thread() && info.kind != discordgo.ChannelTypeGuildCategory && info.kind != discordgo.ChannelTypeGuildVoice {
			found = append(found, cid)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		// Not permanent: the servers' channels arrive after the connection
		// (GUILD_CREATE), and a channel may be created later.
		return "", fmt.Errorf("discord: no channel named %s in the bot's servers (yet)", id)
	}
	return "", fmt.Errorf("discord: %d channels are named %s: use the channel ID: %w", len(found), id, chat.ErrPermanent)
}
