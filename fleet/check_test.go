package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/fleet"
	"github.com/opsbot/opsbot/fleet/fleettest"
)

func instanceOf(name string, s *fleettest.Server) fleet.Instance {
	return fleet.Instance{Name: name, Health: s.Health(), Version: s.Version(), Tasks: s.Tasks()}
}

func TestCheckAgainstRealServers(t *testing.T) {
	const timeout = 300 * time.Millisecond
	c := &fleet.Checker{Timeout: timeout, SlowAfter: 100 * time.Millisecond}
	ctx := context.Background()

	s := fleettest.Start(t)
	s.SetVersion("2.4.1")
	in := instanceOf("api", s)

	st := c.Check(ctx, in)
	assert.Equal(t, fleet.Up, st.State)
	assert.Equal(t, "2.4.1", st.Version, "from the version URL")
	assert.Equal(t, 200, st.Code)
	assert.Contains(t, string(st.Body), `"status":"pass"`)

	noVersionURL := in
	noVersionURL.Version = ""
	assert.Equal(t, "2.4.1", c.Check(ctx, noVersionURL).Version, "from the health answer's releaseId")

	s.Set(fleettest.Unhealthy)
	st = c.Check(ctx, in)
	assert.Equal(t, fleet.Down, st.State)
	assert.Equal(t, "HTTP 503, status fail", st.Detail)

	s.Set(fleettest.Warn)
	st = c.Check(ctx, in)
	assert.Equal(t, fleet.Degraded, st.State)
	assert.Equal(t, "status warn", st.Detail)

	s.Set(fleettest.Slow, 150*time.Millisecond)
	st = c.Check(ctx, in)
	assert.Equal(t, fleet.Degraded, st.State)
	assert.Contains(t, st.Detail, "slow: ")

	s.Set(fleettest.Hanging)
	start := time.Now()
	st = c.Check(ctx, in)
	assert.Less(t, time.Since(start), 2*timeout)
	assert.Equal(t, fleet.Down, st.State)
	assert.Equal(t, "no answer within 300ms", st.Detail)

	s.Stop()
	st = c.Check(ctx, in)
	assert.Equal(t, fleet.Down, st.State)
	assert.Equal(t, "connection refused", st.Detail)

	s.Restart()
	s.Set(fleettest.Healthy)
	assert.Equal(t, fleet.Up, c.Check(ctx, in).State, "back on the same port")

	assert.Equal(t, fleet.Status{Instance: "x", State: fleet.Unknown, Detail: "no health URL", At: st.At},
		func() fleet.Status { s := c.Check(ctx, fleet.Instance{Name: "x"}); s.At = st.At; return s }())
}

// TestPlatformOf50With5Hanging: fifty instances, five of which never
// answer, are checked within one timeout, not fifty.
func TestPlatformOf50With5Hanging(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var ins []fleet.Instance
	for i := range 50 {
		s := fleettest.Start(t)
		if i%10 == 3 {
			s.Set(fleettest.Hanging)
		}
		ins = append(ins, instanceOf(fmt.Sprintf("web%02d", i), s))
	}
	// Fewer lanes than instances, and hanging ones among the first: the
	// total still stays within the timeout.
	c := &fleet.Checker{Timeout: timeout, Concurrency: 8}
	start := time.Now()
	sts := c.CheckAll(context.Background(), ins)
	took := time.Since(start)
	assert.Less(t, took, 2*timeout, "50 instances, 5 hanging: one timeout, not %d", 5)
	require.Len(t, sts, 50)
	down := 0
	for i, st := range sts {
		assert.Equal(t, ins[i].Name, st.Instance, "in order")
		if st.State == fleet.Down {
			down++
			assert.Equal(t, "no answer within 300ms", st.Detail)
		}
	}
	assert.GreaterOrEqual(t, down, 5)
	assert.Equal(t, fleet.Down, sts[3].State)
	assert.Equal(t, fleet.Down, sts[43].State)
}
