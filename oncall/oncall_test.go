package oncall_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/oncall"
)

func TestRotationAcrossDaylightSaving(t *testing.T) {
	// Weekly, Mondays 09:00 Paris time; summer time ends Sunday 2026-10-25.
	r, err := oncall.NewRotation([]string{"alice", "bob", "carol"}, "2026-10-12", "09:00", 7, "Europe/Paris")
	require.NoError(t, err)
	paris := r.Location
	for _, tc := range []struct {
		at         time.Time
		cur, next  string
		start, end string
	}{
		{time.Date(2026, 10, 12, 9, 0, 0, 0, paris), "alice", "bob", "2026-10-12 09:00 CEST", "2026-10-19 09:00 CEST"},
		{time.Date(2026, 10, 19, 8, 59, 0, 0, paris), "alice", "bob", "2026-10-12 09:00 CEST", "2026-10-19 09:00 CEST"},
		{time.Date(2026, 10, 19, 9, 0, 0, 0, paris), "bob", "carol", "2026-10-19 09:00 CEST", "2026-10-26 09:00 CET"},
		// After the change the handoff stays at 09:00 wall-clock (08:00 UTC, not 07:00).
		{time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC), "carol", "alice", "2026-10-26 09:00 CET", "2026-11-02 09:00 CET"},
		{time.Date(2026, 10, 26, 7, 59, 0, 0, time.UTC), "bob", "carol", "2026-10-19 09:00 CEST", "2026-10-26 09:00 CET"},
		// Long after and before the start, the turn wraps around.
		{time.Date(2027, 3, 1, 12, 0, 0, 0, paris), "carol", "alice", "2027-03-01 09:00 CET", "2027-03-08 09:00 CET"}, // 20 weeks on
		{time.Date(2026, 10, 11, 12, 0, 0, 0, paris), "carol", "alice", "2026-10-05 09:00 CEST", "2026-10-12 09:00 CEST"},
	} {
		cur, next := r.At(tc.at)
		require.Equal(t, tc.cur, cur.User, tc.at)
		require.Equal(t, tc.next, next.User, tc.at)
		require.Equal(t, tc.start, cur.Start.In(paris).Format("2006-01-02 15:04 MST"), tc.at)
		require.Equal(t, tc.end, cur.End.In(paris).Format("2006-01-02 15:04 MST"), tc.at)
	}
}

func TestOverrides(t *testing.T) {
	r, err := oncall.NewRotation([]string{"alice", "bob"}, "2026-11-02", "09:00", 7, "")
	require.NoError(t, err)
	o, err := oncall.ParseOverride("dave", "2026-11-24 18:00", "2026-11-25 09:00", time.UTC)
	require.NoError(t, err)
	s := oncall.Schedule{Rotation: r, Overrides: []oncall.Override{o}}
	at := func(v string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04", v)
		require.NoError(t, err)
		return tm
	}
	cur, next := s.At(at("2026-11-24 12:00"))
	require.Equal(t, "bob", cur.User)
	require.Equal(t, at("2026-11-24 18:00"), cur.End, "the override starts")
	require.Equal(t, "dave", next.User)
	cur, next = s.At(at("2026-11-24 20:00"))
	require.Equal(t, "dave", cur.User)
	require.Equal(t, at("2026-11-25 09:00"), cur.End)
	require.Equal(t, "bob", next.User, "the rotation resumes")
	cur, _ = s.At(at("2026-11-25 09:00"))
	require.Equal(t, "bob", cur.User)

	_, err = oncall.ParseOverride("dave", "2026-11-25 09:00", "2026-11-24 09:00", time.UTC)
	require.ErrorContains(t, err, "to must be after from")
	_, err = oncall.ParseOverride("", "2026-11-25 09:00", "2026-11-26 09:00", time.UTC)
	require.ErrorContains(t, err, "user is required")
}

func TestDue(t *testing.T) {
	steps := []oncall.Step{{0, "primary"}, {5 * time.Minute, "primary"}, {15 * time.Minute, "secondary"}, {30 * time.Minute, "room"}}
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		done int
		at   time.Duration
		due  []int
		next time.Duration // -1: none
	}{
		{0, 0, []int{0}, 5 * time.Minute},
		{1, 4 * time.Minute, nil, 5 * time.Minute},
		{1, 5 * time.Minute, []int{1}, 15 * time.Minute},
		{1, 20 * time.Minute, []int{1, 2}, 30 * time.Minute},
		{4, time.Hour, nil, -1},
		{3, time.Hour, []int{3}, -1},
	} {
		due, next := oncall.Due(steps, t0, tc.done, t0.Add(tc.at))
		require.Equal(t, tc.due, due, "%+v", tc)
		if tc.next < 0 {
			require.True(t, next.IsZero())
		} else {
			require.Equal(t, t0.Add(tc.next), next)
		}
	}
}

type vendor struct{ now, next []string }

func (v vendor) OnCall(context.Context, string, time.Time) ([]string, []string, error) {
	return v.now, v.next, nil
}

func TestTeams(t *testing.T) {
	team, err := oncall.NewTeam(oncall.TeamConfig{Name: "ops", Rotation: &oncall.RotationConfig{Members: []string{"alice", "bob"}, Start: "2026-11-16"},
		Secondary: &oncall.RotationConfig{Members: []string{"carol"}}, Match: map[string]string{"service": "db"}}, "Europe/Paris", nil)
	require.NoError(t, err)
	require.Equal(t, oncall.DefaultEscalation, team.Escalation)
	n, err := team.At(context.Background(), time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, oncall.Now{Primary: "alice", Until: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), Secondary: "carol", Next: "bob",
		NextAt: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}, n.UTC())
	require.True(t, team.Claims(map[string]string{"service": "db", "x": "y"}))
	require.False(t, team.Claims(map[string]string{"service": "web"}))

	vt, err := oncall.NewTeam(oncall.TeamConfig{Name: "web", Provider: "opsgenie", Schedule: "s", Users: map[string]string{"dave@example.com": "dave"}},
		"", vendor{now: []string{"dave@example.com"}, next: []string{"erin@example.com"}})
	require.NoError(t, err)
	n, err = vt.At(context.Background(), time.Now())
	require.NoError(t, err)
	require.Equal(t, "dave", n.Primary)
	require.Equal(t, "erin@example.com", n.Next)

	_, err = oncall.NewTeam(oncall.TeamConfig{Name: "none"}, "", nil)
	require.ErrorContains(t, err, "neither a rotation nor a vendor schedule")
}

func TestConfigValidate(t *testing.T) {
	good := oncall.Config{Teams: []oncall.TeamConfig{{Name: "ops", Rotation: &oncall.RotationConfig{Members: []string{"a"}},
		Escalation: []oncall.StepConfig{{After: 0, Notify: "primary"}, {After: config.Duration(time.Minute), Notify: "group:dba"}}}}}
	require.NoError(t, good.Validate())
	for _, tc := range []struct {
		c    oncall.Config
		want string
	}{
		{oncall.Config{Teams: []oncall.TeamConfig{{Name: "a", Rotation: &oncall.RotationConfig{}}}}, "members: at least one"},
		{oncall.Config{Teams: []oncall.TeamConfig{{Name: "a", Rotation: &oncall.RotationConfig{Members: []string{"x"}, Timezone: "Mars/Olympus"}}}}, "timezone"},
		{oncall.Config{Teams: []oncall.TeamConfig{{Name: "a", Provider: "opsgenie"}}}, "opsgenie.api_key: is required"},
		{oncall.Config{Teams: []oncall.TeamConfig{{Name: "a", Provider: "victorops"}}}, `"victorops" is not builtin`},
		{oncall.Config{Default: "b", Teams: []oncall.TeamConfig{{Name: "a", Rotation: &oncall.RotationConfig{Members: []string{"x"}}}}}, `default: "b" is not a team`},
		{oncall.Config{Teams: []oncall.TeamConfig{{Name: "a", Rotation: &oncall.RotationConfig{Members: []string{"x"}},
			Escalation: []oncall.StepConfig{{After: config.Duration(time.Hour), Notify: "primary"}, {After: 0, Notify: "room"}}}}}, "steps must be in order"},
	} {
		require.ErrorContains(t, tc.c.Validate(), tc.want)
	}
}
