package discord

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/opsbot/opsbot/chat"
)

// Run connects to the gateway and delivers inbound messages until ctx ends.
// When the connection breaks (or Discord asks with op 7 RECONNECT) it
// connects again with backoff and RESUMEs the session, so the events in
// between are replayed; a session Discord no longer knows is identified
// anew. It returns early only on a permanent error (a token or intents
// Discord refuses).
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.deliver(ctx, in)
	for attempt := 0; ; {
		select { // a signal left by the previous connection
		case <-a.down:
		default:
		}
		err := a.open(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			attempt = 0
			a.log.Info("discord: connected to the gateway")
			select {
			case <-ctx.Done():
				a.close()
				return ctx.Err()
			case <-a.down:
				err = errors.New("the gateway connection ended")
			}
		}
		if errors.Is(err, chat.ErrPermanent) {
			a.log.Error("discord: giving up", "err", err)
			return err
		}
		attempt++
		wait := backoff(attempt, a.cfg.ReconnectMin, a.cfg.ReconnectMax)
		a.log.Warn("discord: reconnecting", "err", err, "in", wait)
		select {
		case <-a.clock.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// open opens the gateway connection (IDENTIFY, or RESUME after a drop);
// discordgo's Open does not take a context, so ctx ending leaves it to
// finish in the background and closes what it opened.
func (a *Adapter) open(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- a.s.Open() }()
	select {
	case err := <-done:
		return classify(err)
	case <-ctx.Done():
		go func() {
			if <-done == nil {
				a.close()
			}
		}()
		return ctx.Err()
	}
}

// close closes the gateway connection. discordgo waits a second after the
// close frame, for Discord to see it.
func (a *Adapter) close() {
	if err := a.s.Close(); err != nil {
		a.log.Debug("discord: closing the gateway", "err", err)
	}
}

// classify marks the errors of Open that retrying cannot fix.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 4004: // authentication failed
			return fmt.Errorf("discord: gateway: the token was refused (close %d): %w", ce.Code, chat.ErrPermanent)
		case 4010, 4011, 4012: // invalid shard, sharding required, invalid API version
			return fmt.Errorf("discord: gateway: %s (close %d): %w", ce.Text, ce.Code, chat.ErrPermanent)
		case 4013, 4014: // invalid or disallowed intents
			return fmt.Errorf("discord: gateway: intents refused (close %d: %s); enable the Message Content intent in the developer portal or set message_content: false: %w", ce.Code, ce.Text, chat.ErrPermanent)
		}
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("discord: the token was refused (HTTP 401): %w", chat.ErrPermanent)
	}
	return fmt.Errorf("discord: gateway: %w", err)
}

// backoff is the wait before the nth attempt in a row: min doubled each
// time up to max, less up to a fifth at random so that replicas spread out.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = time.Duration(float64(min(d, hi)) * (1 - rand.Float64()/5))
	return max(lo, d)
}

func (a *Adapter) onDisconnect(_ *discordgo.Session, _ *discordgo.Disconnect) {
	select {
	case a.down <- struct{}{}:
	default:
	}
}

func (a *Adapter) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	a.mu.Lock()
	a.self = r.User
	if r.Application != nil {
		a.appID = r.Application.ID
	}
	register := !a.commanded && a.cfg.SlashCommand != "-" && a.appID != ""
	a.commanded = a.commanded || register
	a.mu.Unlock()
	if register {
		go a.registerCommand()
	}
}

// registerCommand registers the slash command (a bulk overwrite of the
// application's global commands: idempotent).
func (a *Adapter) registerCommand() {
	a.mu.Lock()
	appID := a.appID
	a.mu.Unlock()
	dm := true
	cmd := &discordgo.ApplicationCommand{
		Name: a.cfg.SlashCommand, Type: discordgo.ChatApplicationCommand, DMPermission: &dm,
		Description: "Run an opsbot command",
		Options: []*discordgo.ApplicationCommandOption{{
			Type: discordgo.ApplicationCommandOptionString, Name: "command", Required: true,
			Description: "the command, as you would type it to the bot",
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.PostTimeout)
	defer cancel()
	if _, err := a.s.ApplicationCommandBulkOverwrite(appID, "", []*discordgo.ApplicationCommand{cmd}, discordgo.WithContext(ctx)); err != nil {
		a.log.Warn("discord: registering the slash command", "command", a.cfg.SlashCommand, "err", err)
		a.mu.Lock()
		a.commanded = false
		a.mu.Unlock()
	}
}

func (a *Adapter) onGuildCreate(_ *discordgo.Session, g *discordgo.GuildCreate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, list := range [][]*discordgo.Channel{g.Channels, g.Threads} {
		for _, c := range list {
			a.channels[c.ID] = channelInfo{name: c.Name, kind: c.Type, parent: c.ParentID, guildID: g.ID}
		}
	}
}

func (a *Adapter) onThreadCreate(_ *discordgo.Session, t *discordgo.ThreadCreate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.channels[t.ID] = channelInfo{name: t.Name, kind: t.Type, parent: t.ParentID, guildID: t.GuildID}
}
