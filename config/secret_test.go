package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/opsbot/opsbot/config"
)

type secretHolder struct {
	Name  string
	Token config.Secret
	Ptr   *config.Secret
	List  []config.Secret
	Map   map[string]config.Secret
}

func TestSecretNeverPrinted(t *testing.T) {
	const value = "hunter2-s3cr3t"
	s := config.Secret(value)
	h := secretHolder{Name: "n", Token: s, Ptr: &s, List: []config.Secret{s}, Map: map[string]config.Secret{"k": s}}

	assert.Equal(t, value, s.Reveal())
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		outputs["fmt "+verb+" secret"] = fmt.Sprintf(verb, s)
		outputs["fmt "+verb+" struct"] = fmt.Sprintf(verb, h)
		outputs["fmt "+verb+" pointer"] = fmt.Sprintf(verb, &h)
	}
	outputs["Sprint"] = fmt.Sprint(s, h)
	outputs["Sprintln"] = fmt.Sprintln(s, h)

	js, err := json.Marshal(h)
	require.NoError(t, err)
	outputs["json"] = string(js)
	assert.JSONEq(t, `{"Name":"n","Token":"[redacted]","Ptr":"[redacted]","List":["[redacted]"],"Map":{"k":"[redacted]"}}`, string(js))

	y, err := yaml.Marshal(h)
	require.NoError(t, err)
	outputs["yaml"] = string(y)

	txt, err := s.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "[redacted]", string(txt))

	var jsonLog, textLog bytes.Buffer
	for _, h2 := range []slog.Handler{slog.NewJSONHandler(&jsonLog, nil), slog.NewTextHandler(&textLog, nil)} {
		log := slog.New(h2)
		log.Info("config", "token", s, "holder", h, "ptr", &h)
		log.Info("attr", slog.Any("token", s), slog.String("str", s.String()))
		log.With("token", s).Info("with")
		log.Info("group", slog.Group("g", "token", s))
	}
	outputs["slog json"] = jsonLog.String()
	outputs["slog text"] = textLog.String()
	assert.Contains(t, jsonLog.String(), `"token":"[redacted]"`)
	assert.Contains(t, textLog.String(), `token=[redacted]`)

	for name, out := range outputs {
		assert.NotContains(t, out, value, name)
		assert.NotContains(t, out, fmt.Sprintf("%x", value), name)
	}
	assert.Equal(t, "[redacted]", fmt.Sprintf("%v", s))
	assert.Equal(t, "[redacted]", fmt.Sprintf("%#v", s))
	assert.Equal(t, `"[redacted]"`, fmt.Sprintf("%q", s))
	assert.Equal(t, "{Name:n Token:[redacted]", fmt.Sprintf("%+v", h)[:len("{Name:n Token:[redacted]")])
}

func TestEmptySecret(t *testing.T) {
	var s config.Secret
	assert.Equal(t, "", s.String())
	assert.Equal(t, "|", fmt.Sprintf("%v|%#v", s, s))
	js, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Equal(t, `""`, string(js))
	assert.Equal(t, "", s.LogValue().String())
}

func TestSecretFromConfig(t *testing.T) {
	var cfg struct {
		Token config.Secret `yaml:"token"`
	}
	l := config.NewLoader(config.WithEnv(map[string]string{"TOKEN": "xoxb-123"}))
	require.NoError(t, l.Register("slack", &cfg))
	require.NoError(t, l.Load("opsbot.yaml", []byte("slack:\n  token: ${TOKEN}\n")))
	assert.Equal(t, "xoxb-123", cfg.Token.Reveal())
	assert.NotContains(t, fmt.Sprintf("%+v %#v", cfg, cfg), "xoxb")
}
