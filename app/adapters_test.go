package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigEnablesChatAdapters(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "opsbot.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`adapters:
  irc:
    server: 127.0.0.1:6667
    nick: opsbot
    channels:
      - name: "#ops"
  xmpp:
    jid: opsbot@localhost
    password: ${XMPP_PW}
    tls: plain
    rooms:
      - jid: ops@conference.localhost
`), 0o600))
	t.Setenv("XMPP_PW", "xmpp-secret-pw")
	a, err := LoadConfig(Options{ConfigFile: cfg, DataDir: dir, Modules: CoreModules()})
	require.NoError(t, err)
	ads, err := a.ChatAdapters()
	require.NoError(t, err)
	var names []string
	for _, ad := range ads {
		names = append(names, ad.Name())
	}
	require.Equal(t, []string{"irc", "xmpp"}, names)
	require.Equal(t, "[redacted]", a.Redactor.String("xmpp-secret-pw"), "adapter secrets are masked everywhere")

	a, err = LoadConfig(Options{DataDir: dir, Modules: CoreModules()})
	require.NoError(t, err)
	ads, err = a.ChatAdapters()
	require.NoError(t, err)
	require.Empty(t, ads, "no adapters: block, no chats")
}
