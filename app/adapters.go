package app

import (
	"fmt"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/irc"
	"github.com/opsbot/opsbot/chat/xmpp"
)

// AdaptersConfig is the `adapters:` section: one block per chat. A chat
// whose block is absent is not connected. (The web chat is configured in
// `web:` and always on; the shell adapter is `opsbot shell`.)
type AdaptersConfig struct {
	IRC  *irc.Config  `yaml:"irc"`
	XMPP *xmpp.Config `yaml:"xmpp"`
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
	return out, nil
}
