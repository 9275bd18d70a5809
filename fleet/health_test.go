package fleet

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummarise(t *testing.T) {
	ietf, err := os.ReadFile("testdata/ietf-health.json")
	require.NoError(t, err)
	spring, err := os.ReadFile("testdata/spring-actuator-health.json")
	require.NoError(t, err)

	tests := []struct {
		name    string
		body    string
		state   State
		status  string
		version string
		checks  []Check
		text    string
	}{
		{name: "IETF health+json", body: string(ietf), state: Up, status: "pass", version: "1.2.2", checks: []Check{
			{Name: "cassandra:connections dfd6cf2b-1b6e-4412-a0b8-f6f7797a60d2", Status: "warn", Detail: "75"},
			{Name: "cassandra:responseTime dfd6cf2b-1b6e-4412-a0b8-f6f7797a60d2", Status: "pass", Detail: "250 ms"},
			{Name: "uptime", Status: "pass", Detail: "1209600.245 s"},
		}},
		{name: "Spring Boot actuator", body: string(spring), state: Down, status: "DOWN", checks: []Check{
			{Name: "db", Status: "UP"},
			{Name: "diskSpace", Status: "UP"},
			{Name: "ping", Status: "UP"},
			{Name: "redis", Status: "DOWN", Detail: "org.springframework.data.redis.RedisConnectionFailureException: Unable to connect to Redis"},
		}},
		{name: "flat map, worst check decides", body: `{"version":"2.0.1","checks":{"db":"ok","cache":"degraded"}}`, state: Degraded, version: "2.0.1",
			checks: []Check{{Name: "cache", Status: "degraded"}, {Name: "db", Status: "ok"}}},
		{name: "list of checks", body: `{"status":"ok","checks":[{"name":"queue","status":"ok","message":"3 waiting"}]}`, state: Up, status: "ok",
			checks: []Check{{Name: "queue", Status: "ok", Detail: "3 waiting"}}},
		{name: "booleans", body: `{"checks":{"db":true,"s3":false}}`, state: Down,
			checks: []Check{{Name: "db", Status: "ok"}, {Name: "s3", Status: "fail"}}},
		{name: "build version", body: `{"status":"UP","build":{"version":"7.1"}}`, state: Up, status: "UP", version: "7.1"},
		{name: "plain OK", body: "OK\n", state: Up, status: "OK", text: "OK"},
		{name: "plain text page", body: "everything is fine\nqueue: 3\n", state: Up, text: "everything is fine\nqueue: 3"},
		{name: "empty", body: "", state: Up},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Summarise([]byte(tt.body))
			assert.Equal(t, tt.state, h.State())
			assert.Equal(t, tt.status, h.Status)
			assert.Equal(t, tt.version, h.Version)
			assert.Equal(t, tt.checks, h.Checks)
			assert.Equal(t, tt.text, h.Text)
		})
	}
}

func TestStateOf(t *testing.T) {
	for s, want := range map[string]State{
		"pass": Up, "UP": Up, "healthy": Up, "": Up,
		"warn": Degraded, "DEGRADED": Degraded, "OUT_OF_SERVICE": Degraded,
		"fail": Down, "DOWN": Down, "unhealthy": Down, "whatever": Down,
	} {
		assert.Equal(t, want, stateOf(s), s)
	}
}
