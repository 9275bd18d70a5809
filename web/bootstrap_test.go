package web_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store/dbtest"
	"github.com/opsbot/opsbot/store/sqlstore"
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

// TestBootstrapRace: replicas starting at once on one database create one
// admin, and one of them gets the password.
func TestBootstrapRace(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, st *sqlstore.Store) {
		const n = 4
		var wg sync.WaitGroup
		pws := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); pws[i], errs[i] = web.Bootstrap(t.Context(), st) }()
		}
		wg.Wait()
		got := 0
		for i := range n {
			require.NoError(t, errs[i])
			if pws[i] != "" {
				got++
			}
		}
		assert.Equal(t, 1, got, "one replica creates the admin and shows its password")
		count, err := st.CountUsers(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, count)
	})
}
