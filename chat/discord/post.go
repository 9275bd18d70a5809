package discord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/opsbot/opsbot/chat"
)

// Post sends p to a channel (room ID, or "#name").
func (a *Adapter) Post(ctx context.Context, to chat.Room, p chat.Post) (chat.Ref, error) {
	cid, err := a.channelID(to)
	if err != nil {
		return chat.Ref{}, err
	}
	msg, err := a.send(ctx, cid, p)
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: a.normal(to, cid), ID: msg.ID}, nil
}

// normal is room with its channel ID.
func (a *Adapter) normal(room chat.Room, cid string) chat.Room {
	room.Adapter = Name
	if room.ID != cid {
		if room.Name == "" {
			room.Name = room.ID
		}
		room.ID = cid
	}
	return room
}

// PostInThread posts p in the thread under parent, starting the thread
// (named after p's thread key) when parent is not in one yet. A thread
// started from a message has that message's ID.
func (a *Adapter) PostInThread(ctx context.Context, parent chat.Ref, p chat.Post) (chat.Ref, error) {
	cid, err := a.channelID(parent.Room)
	if err != nil {
		return chat.Ref{}, err
	}
	thread := parent.Thread
	if thread == "" {
		if thread, err = a.startThread(ctx, cid, parent.ID, p.ThreadKey); err != nil {
			return chat.Ref{}, err
		}
	}
	msg, err := a.send(ctx, thread, p)
	if err != nil {
		return chat.Ref{}, err
	}
	return chat.Ref{Room: a.normal(parent.Room, cid), ID: msg.ID, Thread: thread}, nil
}

// startThread starts a thread from message mid in channel cid and returns
// its ID; a message that has one already keeps it.
func (a *Adapter) startThread(ctx context.Context, cid, mid, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	if name == "" {
		name = "opsbot"
		if m, err := a.s.ChannelMessage(cid, mid, discordgo.WithContext(ctx)); err == nil {
			if first, _, _ := strings.Cut(strings.TrimSpace(m.Content), "\n"); first != "" {
				name = first
			} else if len(m.Embeds) > 0 && m.Embeds[0].Description != "" {
				name, _, _ = strings.Cut(m.Embeds[0].Description, "\n")
			}
		}
	}
	th, err := a.s.MessageThreadStartComplex(cid, mid, &discordgo.ThreadStart{
		Name: clip(name, 100), AutoArchiveDuration: int(a.cfg.ThreadArchive.Minutes()),
	}, discordgo.WithContext(ctx))
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil && re.Message.Code == discordgo.ErrCodeThreadAlreadyCreatedForThisMessage {
		return mid, nil
	}
	if err != nil {
		return "", wrap("start a thread on "+mid, err)
	}
	a.mu.Lock()
	a.channels[th.ID] = channelInfo{name: th.Name, kind: th.Type, parent: cid, guildID: th.GuildID}
	a.mu.Unlock()
	return th.ID, nil
}

// send creates a message in channel cid.
func (a *Adapter) send(ctx context.Context, cid string, p chat.Post) (*discordgo.Message, error) {
	m := a.build(p)
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	msg, err := a.s.ChannelMessageSendComplex(cid, &discordgo.MessageSend{
		Content: m.content, Embeds: m.embeds, Components: m.components, Files: m.files, AllowedMentions: m.mentions,
	}, discordgo.WithContext(ctx))
	if err != nil {
		return nil, wrap("post to channel "+cid, err)
	}
	return msg, nil
}

// where is the channel a post of ref is in: its thread, else its room.
func (a *Adapter) where(ref chat.Ref) (string, error) {
	if ref.Thread != "" && ref.Thread != ref.ID {
		return ref.Thread, nil
	}
	return a.channelID(ref.Room)
}

// Update replaces the text, embed and buttons of a post the bot made.
func (a *Adapter) Update(ctx context.Context, ref chat.Ref, p chat.Post) error {
	cid, err := a.where(ref)
	if err != nil {
		return err
	}
	m := a.build(p)
	embeds := m.embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	components := m.components
	if components == nil {
		components = []discordgo.MessageComponent{}
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	_, err = a.s.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: ref.ID, Channel: cid, Content: &m.content, Embeds: &embeds, Components: &components,
		AllowedMentions: m.mentions, Files: m.files,
	}, discordgo.WithContext(ctx))
	return wrap("edit message "+ref.ID, err)
}

// Upload attaches a file to a channel.
func (a *Adapter) Upload(ctx context.Context, to chat.Room, name string, data []byte) (chat.Ref, error) {
	cid, err := a.channelID(to)
	if err != nil {
		return chat.Ref{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	msg, err := a.s.ChannelMessageSendComplex(cid, &discordgo.MessageSend{
		Files:           []*discordgo.File{{Name: name, ContentType: http.DetectContentType(data), Reader: bytes.NewReader(data)}},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}, discordgo.WithContext(ctx))
	if err != nil {
		return chat.Ref{}, wrap("upload "+name, err)
	}
	return chat.Ref{Room: a.normal(to, cid), ID: msg.ID}, nil
}

// React adds a reaction to a message. emoji is a Unicode emoji, a custom
// emoji "name:id", or a short name such as white_check_mark.
func (a *Adapter) React(ctx context.Context, ref chat.Ref, name string) error {
	e, ok := emoji(name)
	if !ok {
		return fmt.Errorf("discord: no emoji named %q: %w", name, chat.ErrPermanent)
	}
	cid, err := a.where(ref)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	return wrap("react to "+ref.ID, a.s.MessageReactionAdd(cid, ref.ID, e, discordgo.WithContext(ctx)))
}

// wrap turns discordgo's errors into the chat model's: a 429 into a
// chat.RateLimitError, a refusal retrying cannot change (400, 401, 403,
// 404) into chat.ErrPermanent.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		// discordgo truncates retry_after's fraction to a millisecond below:
		// one more keeps the wait at least what Discord asked.
		return &chat.RateLimitError{RetryAfter: rl.RetryAfter + time.Millisecond, Err: fmt.Errorf("discord: %s: %w", what, err)}
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		msg := string(re.ResponseBody)
		if re.Message != nil {
			msg = fmt.Sprintf("%s (code %d)", re.Message.Message, re.Message.Code)
		}
		switch s := re.Response.StatusCode; {
		case s == http.StatusBadRequest || s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusNotFound:
			return fmt.Errorf("discord: %s: HTTP %d: %s: %w", what, s, msg, chat.ErrPermanent)
		default:
			return fmt.Errorf("discord: %s: HTTP %d: %s", what, s, msg)
		}
	}
	return fmt.Errorf("discord: %s: %w", what, err)
}
