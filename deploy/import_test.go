package deploy

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// testdata/hubot-apps.json follows hubot-deploy's documented apps.json
// (its docs/apps.json.md example, plus a Capistrano app and an unknown key).
func TestImportHubotApps(t *testing.T) {
	data, err := os.ReadFile("testdata/hubot-apps.json")
	require.NoError(t, err)
	out, warns, err := ImportHubotApps(data)
	require.NoError(t, err)
	var got struct {
		Apps Apps `yaml:"apps"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(out), &got))
	hubot := got.Apps["hubot"]
	require.Equal(t, "heroku", hubot.Provider)
	require.Equal(t, "my-orgs-hubot", hubot.Heroku.App)
	require.Equal(t, "${HEROKU_API_KEY}", hubot.Heroku.APIKey.Reveal())
	api := got.Apps["api"]
	require.Equal(t, "shell", api.Provider)
	require.Equal(t, []string{"bundle", "exec", "cap", "{env}", "{task}"}, api.Shell.Command)
	require.Equal(t, []string{"ci/janky", "security/brakeman"}, api.RequiredContexts)
	require.True(t, api.AutoMerge)
	require.Equal(t, []string{"ops"}, api.AllowedRooms)
	require.Contains(t, api.Environments, "staging")
	require.Equal(t, "MyOrg/api", api.Repository)
	www := got.Apps["www"]
	require.Equal(t, "staging", www.DefaultEnvironment)
	require.ElementsMatch(t, []string{
		`www: provider "dpl" has no opsbot equivalent; converted to a shell provider running script/deploy`,
		"www: notify_room has no opsbot equivalent; left out",
	}, warns)

	_, _, err = ImportHubotApps([]byte("{"))
	require.Error(t, err)
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		apps Apps
		want string
	}{
		{Apps{"a b": {Environments: map[string]*Environment{"production": {}}}}, "an app name is"},
		{Apps{"api": {}}, "at least one environment"},
		{Apps{"api": {Provider: "ftp", Environments: map[string]*Environment{"production": {}}}}, `unknown provider "ftp"`},
		{Apps{"api": {Environments: map[string]*Environment{"prod": {}}}}, `"prod" is a shorthand for production`},
		{Apps{"api": {Environments: map[string]*Environment{"staging": {}}}}, `default_environment: "production" is not one of its environments`},
		{Apps{"api": {RequiredContexts: []string{"ci"}, Environments: map[string]*Environment{"production": {}}}}, "need repository and github.token"},
		{Apps{"api": {AutoDeploy: []string{"qa"}, Environments: map[string]*Environment{"production": {}}}}, `auto_deploy: "qa" is not one of its environments`},
	} {
		require.ErrorContains(t, tc.apps.Validate(), tc.want)
	}
	for ref, ok := range map[string]bool{"main": true, "feature/x-1": true, "v1.2.3": true, "-rf": false, "a..b": false, "a b": false, "x.lock": false, "": false} {
		require.Equal(t, ok, ValidRef(ref), ref)
	}
}
