package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
	"github.com/opsbot/opsbot/event"
)

const treeYAML = `
rooms: ["#ops"]
routes:
  - name: deploys
    match: {tag: "deploy.*"}
    rooms: ["slack:#deploys", "web:general"]
  - name: db
    match: {tag: "alert.**", team: db}
    rooms: ["shell:dba"]
    continue: true
    routes:
      - name: db-critical
        match: {severity: critical}
        rooms: ["shell:dba-pager"]
  - name: critical
    match: {severity: critical}
    match_re: {service: "api|web"}
    rooms: ["shell:oncall"]
  - name: replication
    match_re: {tag: "mysql\\.replication\\..*"}
    run: "fix-replication {labels.host}"
    as: fixer
`

func TestRouteMatching(t *testing.T) {
	tree, err := Compile(load(t, treeYAML))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		e    event.Event
		want []string
	}{
		{"deploy goes to its route", event.Event{Tag: "deploy.finished"}, []string{"deploys"}},
		{"deploy.* does not take deeper tags", event.Event{Tag: "deploy.api.finished"}, []string{"root"}},
		{"nothing matches: the default route", event.Event{Tag: "backup.done"}, []string{"root"}},
		{"db warning", event.Event{Tag: "alert.disk", Severity: event.Warning, Labels: map[string]string{"team": "db"}}, []string{"db"}},
		{"db critical: the child, then continue to critical", event.Event{Tag: "alert.disk", Severity: event.Critical,
			Labels: map[string]string{"team": "db", "service": "api"}}, []string{"db-critical", "critical"}},
		{"db critical on another service: the child only", event.Event{Tag: "alert.disk", Severity: event.Critical,
			Labels: map[string]string{"team": "db", "service": "batch"}}, []string{"db-critical"}},
		{"regex is anchored", event.Event{Tag: "x", Severity: event.Critical, Labels: map[string]string{"service": "api2"}}, []string{"root"}},
		{"severity is case-insensitive", event.Event{Tag: "x", Severity: "CRITICAL", Labels: map[string]string{"service": "web"}}, []string{"critical"}},
		{"missing label is not equal", event.Event{Tag: "alert.disk", Severity: event.Warning}, []string{"root"}},
		{"regex on the tag", event.Event{Tag: "mysql.replication.error"}, []string{"replication"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, n := range tree.Match(tc.e) {
				got = append(got, n.ID)
			}
			assert.Equal(t, tc.want, got)
		})
	}
	deploys, _ := tree.Node("deploys")
	assert.Equal(t, []RoomSpec{{"slack", "#deploys"}, {"web", "general"}}, deploys.Rooms)
	child, _ := tree.Node("db-critical")
	assert.Equal(t, DefaultGroupWait, child.GroupWait, "timings are inherited from the root")
	repl, _ := tree.Node("replication")
	assert.Equal(t, []RoomSpec{{"", "#ops"}}, repl.Rooms, "rooms are inherited")
}

func TestInheritance(t *testing.T) {
	tree, err := Compile(load(t, `
rooms: ["#ops"]
group_by: [service]
group_wait: 10s
throttle: 1m
mention: [alice]
routes:
  - name: a
    group_interval: 2m
    run: "x"
    as: fixer
    routes:
      - name: b
        rooms: ["shell:b"]
        group_by: ["..."]
`))
	require.NoError(t, err)
	b, _ := tree.Node("b")
	assert.Equal(t, 10*time.Second, b.GroupWait)
	assert.Equal(t, 2*time.Minute, b.GroupInterval)
	assert.Equal(t, DefaultRepeatInterval, b.RepeatInterval)
	assert.Equal(t, time.Minute, b.Throttle)
	assert.Equal(t, []string{"alice"}, b.Mention)
	assert.Equal(t, []string{"..."}, b.GroupBy)
	assert.Empty(t, b.Run, "actions are not inherited")
	assert.Equal(t, map[string]string{"x": "1", "y": "2"}, b.GroupLabels(event.Event{Labels: map[string]string{"x": "1", "y": "2"}}))
	a, _ := tree.Node("a")
	assert.Equal(t, map[string]string{"service": "api"}, a.GroupLabels(event.Event{Tag: "t", Labels: map[string]string{"service": "api", "y": "2"}}))
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"match: {tag: x}", "routes.match: the root route matches every event"},
		{"routes:\n  - match_re: {tag: \"(\"}", "routes.routes[0].match_re.tag: bad regular expression"},
		{"routes:\n  - match: {severity: loud}", `routes.routes[0].match.severity: "loud" is not one of info, warning, critical`},
		{"rooms: [\"slack:\"]", `routes.rooms[0]: "slack:" is not adapter:room`},
		{"group_by: [\"...\", x]", `routes.group_by[0]: "..." groups by all labels`},
		{"group_interval: 0s", "routes.group_interval: must be positive"},
		{"mute_when: [{weekdays: [someday]}]", `routes.mute_when[0].weekdays[0]: "someday" is not a weekday`},
		{"mute_when: [{times: [\"25:00-26:00\"]}]", `routes.mute_when[0].times[0]: "25:00-26:00" is not a range`},
		{"mention: [\"team:x\"]", `routes.mention[0]: "team:x": want a user, group:NAME or label:NAME`},
		{"routes:\n  - run: \"fix {host}\"", "routes.routes[0].as: is required with run"},
		{"routes:\n  - run: \"fix {host}\"\n    as: fixer", "routes.routes[0].run: unknown placeholder {host}"},
		{"routes:\n  - name: a\n  - name: a", `routes.routes[1].name: "a" is already the name of the route at routes[0]`},
		{"timezone: Mars/Base", `routes.timezone: "Mars/Base" is not a time zone`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			var c Config
			l := config.NewLoader()
			require.NoError(t, l.Register("routes", &c))
			err := l.Load("opsbot.yaml", []byte("routes:\n"+indent(tc.yaml)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseRoom(t *testing.T) {
	for in, want := range map[string]RoomSpec{
		"#ops":                    {"", "#ops"},
		"ops":                     {"", "ops"},
		"shell:ops":               {"shell", "ops"},
		"slack:#deploys":          {"slack", "#deploys"},
		"matrix:!abc:example.org": {"matrix", "!abc:example.org"},
	} {
		got, err := ParseRoom(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, in, got.String())
	}
	for _, bad := range []string{"", ":x", "a b:c"} {
		_, err := ParseRoom(bad)
		assert.Error(t, err, bad)
	}
	assert.Equal(t, "web", RoomSpec{ID: "general"}.Room("web").Adapter)
}

func TestMuteWindows(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := func(day, hm string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, loc)
		require.NoError(t, err)
		return tm
	}
	// 2026-11-23 is a Monday, 2026-11-28 a Saturday.
	for _, tc := range []struct {
		w    Window
		at   time.Time
		want bool
	}{
		{Window{Weekdays: []string{"saturday", "sunday"}}, at("2026-11-28", "12:00"), true},
		{Window{Weekdays: []string{"saturday", "sunday"}}, at("2026-11-23", "12:00"), false},
		{Window{Weekdays: []string{"monday:friday"}, Times: []string{"09:00-17:00"}}, at("2026-11-23", "09:00"), true},
		{Window{Weekdays: []string{"monday:friday"}, Times: []string{"09:00-17:00"}}, at("2026-11-23", "17:00"), false},
		{Window{Weekdays: []string{"monday:friday"}, Times: []string{"09:00-17:00"}}, at("2026-11-28", "10:00"), false},
		{Window{Times: []string{"22:00-07:00"}}, at("2026-11-23", "23:30"), true},
		{Window{Times: []string{"22:00-07:00"}}, at("2026-11-23", "06:59"), true},
		{Window{Times: []string{"22:00-07:00"}}, at("2026-11-23", "07:00"), false},
		{Window{Weekdays: []string{"friday"}, Times: []string{"22:00-07:00"}}, at("2026-11-28", "03:00"), true},
		{Window{Weekdays: []string{"friday"}, Times: []string{"22:00-07:00"}}, at("2026-11-23", "03:00"), false},
		{Window{Weekdays: []string{"fri:mon"}}, at("2026-11-23", "03:00"), true},
	} {
		w, err := tc.w.compile()
		require.NoError(t, err)
		assert.Equal(t, tc.want, w.contains(tc.at), "%v at %s", tc.w, tc.at.Format("Mon 15:04"))
	}
}

func TestExpandRun(t *testing.T) {
	e := event.Event{Tag: "mysql.replication.error", Severity: event.Critical, Fingerprint: "fp1",
		Labels: map[string]string{"host": "db-1.example.org", "evil": "db1 to production", "shell": "$(reboot)"}}
	got, err := expandRun("fix-replication {labels.host} {severity} {fingerprint}", e)
	require.NoError(t, err)
	assert.Equal(t, "fix-replication db-1.example.org critical fp1", got)
	for _, run := range []string{"fix {labels.evil}", "fix {labels.shell}", "fix {labels.missing}"} {
		_, err := expandRun(run, e)
		assert.Error(t, err, run)
	}
	_, err = expandRun("fix {labels.evil}", e)
	assert.True(t, strings.Contains(err.Error(), "not one word"), err)
}
