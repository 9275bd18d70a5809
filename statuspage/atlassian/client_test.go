package atlassian_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/statuspage"
	"github.com/opsbot/opsbot/statuspage/atlassian"
	"github.com/opsbot/opsbot/statuspage/atlassian/atlassiantest"
)

func TestClientAgainstTheFake(t *testing.T) {
	ctx := context.Background()
	fake := atlassiantest.New(t, "kctbh9vrtdwd", "key", "API", "Website")
	c := atlassian.New(fake.BaseURL(), "kctbh9vrtdwd", "key", nil)

	comps, err := c.Components(ctx)
	require.NoError(t, err)
	require.Len(t, comps, 2)
	require.NoError(t, c.SetComponentStatus(ctx, comps[0].ID, "major_outage"))
	require.Equal(t, "major_outage", fake.ComponentStatus("API"))

	var ae *atlassian.APIError
	err = c.SetComponentStatus(ctx, comps[0].ID, "on_fire")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 422, ae.Status)
	require.Contains(t, err.Error(), "Status is not included in the list")
	require.False(t, ae.Temporary())

	inc, err := c.CreateIncident(ctx, "API down", "investigating", "looking", map[string]string{comps[0].ID: "major_outage"})
	require.NoError(t, err)
	require.NotEmpty(t, inc.ID)
	inc, err = c.UpdateIncident(ctx, inc.ID, "resolved", "fixed")
	require.NoError(t, err)
	require.Equal(t, "resolved", inc.Status)
	require.Len(t, inc.Updates, 2)

	wrong := atlassian.New(fake.BaseURL(), "kctbh9vrtdwd", "nope", nil)
	_, err = wrong.Components(ctx)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 401, ae.Status)
	require.NotContains(t, err.Error(), "nope")

	other := atlassian.New(fake.BaseURL(), "otherpage", "key", nil)
	_, err = other.Components(ctx)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 404, ae.Status)

	m := &atlassian.Mirror{C: c}
	err = m.SetComponent(ctx, statuspage.ComponentConfig{Name: "Billing"}, statuspage.Major)
	require.ErrorContains(t, err, `statuspage has no component named "Billing" (set remote_id)`)
	require.NoError(t, m.SetComponent(ctx, statuspage.ComponentConfig{Name: "website"}, statuspage.Maintenance))
	require.Equal(t, "under_maintenance", fake.ComponentStatus("Website"))

	fake.Close()
	err = c.SetComponentStatus(ctx, comps[0].ID, "operational")
	require.Error(t, err)
	require.False(t, errors.As(err, &ae))
}
