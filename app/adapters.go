package app

import (
	"fmt"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/discord"
	"github.com/opsbot/opsbot/chat/irc"
	"github.com/opsbot/opsbot/chat/matrix"
	"github.com/opsbot/opsbot/chat/mattermost"
	"github.com/opsbot/opsbot/chat/slack"
	"github.com/opsbot/opsbot/chat/teams"
	"github.com/opsbot/opsbot/chat/xmpp"
)

// AdaptersConfig is the `adapters:` section: one block per chat. A chat
// whose block is absent is not connected. (The web chat is configured in
// `web:` and always on; the shell adapter is `opsbot shell`.)
type AdaptersConfig struct {
	IRC        *irc.Config        `yaml:"irc"`
	XMPP       *xmpp.Config       `yaml:"xmpp"`
	Mattermost *mattermost.Config `yaml:"mattermost"`
	Teams      *teams.Config      `yaml:"teams"`
	Slack      *slack.Config      `yaml:"slack"`
	Discord    *discord.Config    `yaml:"discord"`
	Matrix     *matrix.Config     `yaml:"matrix"`
}

// ChatAdapters builds the chat adapters the config enables, for `opsbot serve`.
func (a *App) ChatAdapters() ([]chat.Adapter, error) {
	var out []chat.Adapter
	if c := a.Core.Adapters.IRC; c != nil {
		ad, err := irc.New(*c, a.Log.With("adapter", "irc"))
		if err != nil {
			return nil, fmt.Errorf("adapters.irc: %w", err)
		}
		out = append(out, ad)
	}
	if c := a.Core.Adapters.XMPP; c != nil {
		ad, err := xmpp.New(*c, a.Log)
		if err != nil {
			return nil, fmt.Errorf("adapters.xmpp: %w", err)
		}
		out = append(out, ad)
	}
	if c := a.Core.Adapters.Mattermost; c != nil {
		ad, err := mattermost.New(*c, a.Log)
		if err != nil {
			return nil, fmt.Errorf("adapters.mattermost: %w", err)
		}
		out = append(out, ad)
	}
	if c := a.Core.Adapters.Teams; c != nil {
		ad, err := teams.New(*c, a.Log)
		if err != nil {
			return nil, fmt.Errorf("adapters.teams: %w", err)
		}
		out = append(out, ad)
	}
	if c := a.Core.Adapters.Slack; c != nil {
		o := slack.Options{Logger: a.Log, Clock: a.Opts.Clock, BotName: a.Core.Bot.Name}
		if a.Store != nil {
			o.DB = a.Store.DB() // redelivered events are handled once, across restarts and replicas
		}
		ad, err := slack.New(*c, o)
		if err != nil {
			return nil, fmt.Errorf("adapters.slack: %w", err)
		}
		out = append(out, ad)
	}
	if c := a.Core.Adapters.Discord; c != nil {
		ad, err := discord.New(*c, a.Log)
		if err != nil {
			return nil, fmt.Errorf("adapters.discord: %w", err)
		}
		out = append(out, ad)
	}
	if c := a.Core.Adapters.Matrix; c != nil {
		ad, err := matrix.New(*c, a.Log)
		if err != nil {
			return nil, fmt.Errorf("adapters.matrix: %w", err)
		}
		out = append(out, ad)
	}
	return out, nil
}
