package opsgenie_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/alert/opsgenie"
	"github.com/opsbot/opsbot/alert/opsgenie/opsgenietest"
)

func TestClient(t *testing.T) {
	ctx := context.Background()
	fake := opsgenietest.New(t, "genie-key")
	fake.AddAlert("70413a06-38d6-4c85-92b8-5ebc900d42e2")
	fake.SetSchedule("ops", opsgenietest.Schedule{Now: []string{"a@example.com"}, Next: []string{"b@example.com"}})
	c := opsgenie.New(fake.URL, "genie-key", nil)

	require.NoError(t, c.Acknowledge(ctx, "70413a06-38d6-4c85-92b8-5ebc900d42e2", "alice"))
	require.NoError(t, c.Close(ctx, "70413a06-38d6-4c85-92b8-5ebc900d42e2", "alice"))
	a, _ := fake.Alert("70413a06-38d6-4c85-92b8-5ebc900d42e2")
	require.True(t, a.Acknowledged)
	require.Equal(t, "closed", a.Status)
	require.Equal(t, []string{"acknowledged in chat by alice", "closed in chat by alice"}, a.Notes)
	require.Equal(t, "POST /v2/alerts/70413a06-38d6-4c85-92b8-5ebc900d42e2/acknowledge?identifierType=id", fake.Requests()[0])

	now, next, err := c.OnCall(ctx, "ops", time.Time{})
	require.NoError(t, err)
	require.Equal(t, []string{"a@example.com"}, now)
	require.Equal(t, []string{"b@example.com"}, next)

	var ae *opsgenie.APIError
	err = c.Acknowledge(ctx, "nope", "alice")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 404, ae.Status)
	_, _, err = c.OnCall(ctx, "missing", time.Time{})
	require.ErrorContains(t, err, "Schedule with identifier [missing] does not exist")

	err = opsgenie.New(fake.URL, "bad-key", nil).Close(ctx, "x", "alice")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 401, ae.Status)
	require.NotContains(t, err.Error(), "bad-key")
}
