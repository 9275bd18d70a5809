package statuspage_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/statuspage"
)

func TestSplitState(t *testing.T) {
	for _, tc := range []struct {
		in    string
		rest  string
		state statuspage.State
		ok    bool
	}{
		{"Build Processing degraded", "Build Processing", statuspage.Degraded, true},
		{"Build Processing degraded performance", "Build Processing", statuspage.Degraded, true},
		{"api PARTIAL outage", "api", statuspage.Partial, true},
		{"api partial", "api", statuspage.Partial, true},
		{"api major outage", "api", statuspage.Major, true},
		{"api major", "api", statuspage.Major, true},
		{"api maintenance", "api", statuspage.Maintenance, true},
		{"api under maintenance", "api", statuspage.Maintenance, true},
		{"api operational", "api", statuspage.Operational, true},
		{"api major_outage", "api", statuspage.Major, true},
		{"api broken", "api broken", "", false},
		{"degraded", "", statuspage.Degraded, true},
	} {
		rest, st, ok := statuspage.SplitState(strings.Fields(tc.in))
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.rest, strings.Join(rest, " "), tc.in)
		require.Equal(t, tc.state, st, tc.in)
	}
	_, err := statuspage.ParseState("very bad")
	require.ErrorContains(t, err, "not a component state")
	require.True(t, statuspage.Major.Worse(statuspage.Partial))
	require.True(t, statuspage.Maintenance.Worse(statuspage.Operational))
	require.False(t, statuspage.Degraded.Worse(statuspage.Partial))
	require.Equal(t, "degraded performance", statuspage.Degraded.Label())
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  statuspage.Config
		want string
	}{
		{statuspage.Config{Components: []statuspage.ComponentConfig{{Name: ""}}}, "components[0].name: is required"},
		{statuspage.Config{Components: []statuspage.ComponentConfig{{Name: "API"}, {Name: "Web", Aliases: []string{"api"}}}}, `components[1].aliases[0]: "api" is already the name or an alias of API`},
		{statuspage.Config{Components: []statuspage.ComponentConfig{{Name: "degraded"}}}, "is a state word"},
		{statuspage.Config{Maintenance: []statuspage.WindowConfig{{Name: "db", Starts: "2026-12-01 02:00", Ends: "2026-12-01 01:00"}}}, "ends must be after starts"},
		{statuspage.Config{Maintenance: []statuspage.WindowConfig{{Name: "db", Starts: "soon", Ends: "later"}}}, "neither RFC 3339"},
		{statuspage.Config{Components: []statuspage.ComponentConfig{{Name: "API"}}, Maintenance: []statuspage.WindowConfig{{Name: "db", Starts: "2026-12-01 01:00", Ends: "2026-12-01 02:00", Components: []string{"DB"}}}}, `"DB" is not a component`},
		{statuspage.Config{Atlassian: &statuspage.AtlassianConfig{}}, "atlassian.page_id: is required"},
		{statuspage.Config{Atlassian: &statuspage.AtlassianConfig{PageID: "p", APIKey: "k", BaseURL: "ftp://x"}}, "not an http(s) URL"},
	} {
		require.ErrorContains(t, tc.cfg.Validate(), tc.want)
	}
	ok := statuspage.Config{Components: []statuspage.ComponentConfig{{Name: "API", Aliases: []string{"backend"}}}}
	require.NoError(t, ok.Validate())
}
