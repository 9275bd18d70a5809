package config_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/config"
)

type required struct {
	URL   string `yaml:"url"`
	calls *int
}

func (r required) Validate() error {
	*r.calls++
	if r.URL == "" {
		return errors.New("url is required")
	}
	return nil
}

// port is a scalar type that validates itself.
type port int

func (p port) Validate() error {
	if p < 1 || p > 65535 {
		return config.Errorf("", "%d is not a port", int(p))
	}
	return nil
}

type server struct {
	Ports map[string]port `yaml:"ports"`
	Main  *port           `yaml:"main"`
}

func TestValidateWhen(t *testing.T) {
	for _, tc := range []struct {
		src   string
		calls int
		err   string
	}{
		{src: "", calls: 0},
		{src: "other: 1\n", calls: 0},
		{src: "db:\n", calls: 1, err: "x.yaml:1: db: url is required"},
		{src: "db: {}\n", calls: 1, err: "x.yaml:1: db: url is required"},
		{src: "other: 1\ndb:\n  url: x\n", calls: 1},
		{src: "db:\n  url: [x]\n", calls: 0, err: "x.yaml:2: db.url: expected a string, got a sequence"},
	} {
		calls := 0
		var other int
		r := required{calls: &calls}
		l := config.NewLoader()
		require.NoError(t, l.Register("db", &r))
		require.NoError(t, l.Register("other", &other))
		err := l.Load("x.yaml", []byte(tc.src))
		if tc.err == "" {
			assert.NoError(t, err, tc.src)
		} else {
			assert.EqualError(t, err, tc.err, tc.src)
		}
		assert.Equal(t, tc.calls, calls, tc.src)
	}
}

func TestValidateScalarsAndMapValues(t *testing.T) {
	var s server
	l := config.NewLoader()
	require.NoError(t, l.Register("server", &s))
	err := l.Load("x.yaml", []byte("server:\n  ports:\n    http: 80\n    https: 70000\n  main: 0\n"))
	assert.EqualError(t, err, "x.yaml:4: server.ports.https: 70000 is not a port\nx.yaml:5: server.main: 0 is not a port")
}

func TestMergeKeys(t *testing.T) {
	type job struct {
		Image string            `yaml:"image"`
		Tags  []string          `yaml:"tags"`
		Env   map[string]string `yaml:"env"`
		Extra string            `yaml:"extra"`
	}
	var jobs map[string]job
	l := config.NewLoader()
	require.NoError(t, l.Register("jobs", &jobs))
	err := l.Load("x.yaml", []byte(`jobs:
  base: &base
    image: alpine
    tags: [base]
  more: &more
    image: debian
    extra: more
  a:
    <<: [*base, *more]
    tags: [a]
  b:
    <<: *more
    <<: *base
`))
	require.Error(t, err, "two << keys are duplicates")
	assert.Contains(t, err.Error(), "x.yaml:13: jobs.b.<<: duplicate key")

	require.NoError(t, l.Load("x.yaml", []byte(`jobs:
  base: &base
    image: alpine
    tags: [base]
  more: &more
    image: debian
    extra: more
  a:
    <<: [*base, *more]
    tags: [a]
`)))
	assert.Equal(t, job{Image: "alpine", Tags: []string{"a"}, Extra: "more"}, jobs["a"])

	err = l.Load("x.yaml", []byte("jobs:\n  base: &base\n    image: alpine\n    imgae: x\n  a:\n    <<: *base\n"))
	assert.EqualError(t, err, "x.yaml:4: jobs.base.imgae: unknown key (known: image, tags, env, extra)\nx.yaml:4: jobs.a.imgae: unknown key (known: image, tags, env, extra)")
}
