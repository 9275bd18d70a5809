package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/web"
)

func TestBootstrapCreatesTheAdminOnce(t *testing.T) {
	c := newConsole(t, nil)
	ctx := context.Background()
	pw, err := web.Bootstrap(ctx, c.st)
	require.NoError(t, err)
	require.Len(t, pw, 20)
	u, err := c.st.UserByName(ctx, "admin")
	require.NoError(t, err)
	require.NotContains(t, u.PasswordHash, pw, "stored hashed")
	groups, err := c.st.GroupsOf(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"admins"}, groups)
	owner, err := c.st.UserByIdentity(ctx, "web", "admin")
	require.NoError(t, err)
	require.Equal(t, u.ID, owner.ID)

	again, err := web.Bootstrap(ctx, c.st)
	require.NoError(t, err)
	require.Empty(t, again, "users exist: nothing is created or printed")

	cl := c.client(t)
	require.Equal(t, http.StatusSeeOther, cl.login("admin", pw).StatusCode)
	resp, _ := cl.do("GET", "/users", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the admin sees the admin pages")
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*web.Config)
		want string
	}{
		{"defaults", func(*web.Config) {}, ""},
		{"room", func(c *web.Config) { c.DefaultRoom = "Ops Room" }, "default_room"},
		{"ttl", func(c *web.Config) { c.SessionTTL = 0 }, "session_ttl"},
		{"failures", func(c *web.Config) { c.LoginRate.Failures = 0 }, "login_rate.failures"},
		{"window", func(c *web.Config) { c.LoginRate.Window = 0 }, "login_rate.window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := web.DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}
