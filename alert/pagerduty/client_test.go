package pagerduty_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/alert/pagerduty"
	"github.com/opsbot/opsbot/alert/pagerduty/pagerdutytest"
)

func TestClient(t *testing.T) {
	ctx := context.Background()
	fake := pagerdutytest.New(t, "pd-token")
	fake.AddIncident("PT4KHLK")
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	fake.SetShifts("PI7DH85",
		pagerdutytest.Shift{User: "Earline Greenholt", Start: t0, End: t0.Add(24 * time.Hour)},
		pagerdutytest.Shift{User: "Kenny Kertzmann", Start: t0.Add(24 * time.Hour), End: t0.Add(48 * time.Hour)})
	c := pagerduty.New(fake.URL, "pd-token", "bot@example.com", nil)

	require.NoError(t, c.Acknowledge(ctx, "PT4KHLK", "alice"))
	inc, _ := fake.Incident("PT4KHLK")
	require.Equal(t, "acknowledged", inc.Status)
	require.NoError(t, c.Close(ctx, "PT4KHLK", "alice"))
	inc, _ = fake.Incident("PT4KHLK")
	require.Equal(t, "resolved", inc.Status)
	require.Equal(t, []string{"bot@example.com", "bot@example.com"}, inc.From)

	now, next, err := c.OnCall(ctx, "PI7DH85", t0.Add(9*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []string{"Earline Greenholt"}, now)
	require.Equal(t, []string{"Kenny Kertzmann"}, next)

	var ae *pagerduty.APIError
	err = pagerduty.New(fake.URL, "pd-token", "", nil).Acknowledge(ctx, "PT4KHLK", "alice")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 400, ae.Status)
	require.Contains(t, err.Error(), `"From" header`)
	err = c.Acknowledge(ctx, "NOPE", "alice")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 404, ae.Status)
	err = pagerduty.New(fake.URL, "wrong", "bot@example.com", nil).Acknowledge(ctx, "PT4KHLK", "alice")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 401, ae.Status)
	require.NotContains(t, err.Error(), "wrong")
}
