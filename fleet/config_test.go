package fleet

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
)

// load decodes an `instances` section through the real config loader.
func load(t *testing.T, yaml string) (Config, error) {
	t.Helper()
	var c Config
	l := config.NewLoader()
	require.NoError(t, l.Register("instances", &c))
	err := l.Load("opsbot.yaml", []byte(yaml))
	return c, err
}

func TestConfigLoads(t *testing.T) {
	c, err := load(t, `
instances:
  timeout: 300ms
  down_after: 2
  platform: {command: platform, aliases: ["roih status"]}
  panic: {command: panic, rooms: ["#ops"], responders: [group:oncall]}
  apps:
    api:
      aliases: [master, "roi hunter"]
      active: {url: "http://lb.internal/active", field: backend.colour}
      switch:
        http: {method: POST, url: "http://lb.internal/switch/{colour}", headers: {Authorization: "Bearer s3cret"}}
  list:
    - name: api-blue
      app: api
      role: blue
      env: production
      health: http://10.0.0.1/health
      restart: {systemd: {host: deploy@web1, unit: api-blue.service}}
    - name: api-green
      app: api
      role: green
      env: production
      health: http://10.0.0.2/health
      restart: {kubectl: {deployment: api-green, namespace: prod}}
`)
	require.NoError(t, err)
	assert.Equal(t, 2, c.DownAfter)
	assert.Equal(t, []string{"roih status"}, c.Platform.Aliases)
	assert.Equal(t, []string{"#ops"}, c.Panic.Rooms)
	assert.Equal(t, "backend.colour", c.Apps["api"].Active.Field)
	assert.Equal(t, "Bearer s3cret", c.Apps["api"].Switch.HTTP.Headers["Authorization"].Reveal())
	d := c.WithDefaults()
	assert.Equal(t, DefaultInterval, d.Interval)
	assert.Equal(t, DefaultUpAfter, d.UpAfter)
	assert.True(t, d.Polling())
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"no name", "instances:\n  list:\n    - app: api\n", "instances.list[0].name: is required"},
		{"bad name", "instances:\n  list:\n    - name: Api Blue\n", `instances.list[0].name: "Api Blue": use lower-case`},
		{"context word", "instances:\n  list:\n    - name: active\n", `"active" is a context word`},
		{"duplicate", "instances:\n  list:\n    - name: a\n    - name: a\n", `instances.list[1].name: "a" is also the name of list[0]`},
		{"bad url", "instances:\n  list:\n    - name: a\n      health: ftp://x/health\n", `instances.list[0].health: "ftp://x/health" is not an http(s) URL`},
		{"two actions", "instances:\n  list:\n    - name: a\n      restart: {argv: [x], kubectl: {deployment: a}}\n", "instances.list[0].restart: give exactly one of argv, http, systemd or kubectl"},
		{"no action", "instances:\n  list:\n    - name: a\n      restart: {timeout: 1m}\n", "give exactly one of argv"},
		{"shell in host", "instances:\n  list:\n    - name: a\n      restart: {systemd: {host: 'web1; rm -rf /', unit: a}}\n", `restart.systemd.host: "web1; rm -rf /" is not a host name`},
		{"bad unit", "instances:\n  list:\n    - name: a\n      restart: {systemd: {host: web1, unit: 'a b'}}\n", `restart.systemd.unit: "a b" is not a unit name`},
		{"bad deployment", "instances:\n  list:\n    - name: a\n      restart: {kubectl: {deployment: 'A;B'}}\n", `restart.kubectl.deployment: "A;B" is not NAME or KIND/NAME`},
		{"bad method", "instances:\n  list:\n    - name: a\n      restart: {http: {method: BREW, url: 'http://x/'}}\n", `restart.http.method: "BREW" is not GET`},
		{"one role", "instances:\n  apps: {api: {}}\n  list:\n    - {name: a, app: api, role: blue}\n", "instances.apps.api: a blue-green app needs instances with at least two roles; api has 1"},
		{"initial not a role", "instances:\n  apps: {api: {initial: purple}}\n  list:\n    - {name: a, app: api, role: blue}\n    - {name: b, app: api, role: green}\n",
			`instances.apps.api.initial: "purple" is not the role of an instance of api (roles: blue, green)`},
		{"source both", "instances:\n  apps: {api: {active: {url: 'http://lb/', argv: [x]}}}\n  list:\n    - {name: a, app: api, role: blue}\n    - {name: b, app: api, role: green}\n",
			"instances.apps.api.active: give url or argv, not both"},
		{"initial with source", "instances:\n  apps: {api: {initial: blue, active: {argv: [x]}}}\n  list:\n    - {name: a, app: api, role: blue}\n    - {name: b, app: api, role: green}\n",
			"instances.apps.api.initial: only for a colour opsbot keeps"},
		{"bad platform alias", "instances:\n  platform: {aliases: ['roih; status']}\n", `instances.platform.aliases[0]: "roih; status"`},
		{"unknown key", "instances:\n  list:\n    - name: a\n      helth: http://x/\n", "instances.list[0].helth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
