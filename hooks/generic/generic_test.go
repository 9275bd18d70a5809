package generic

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const (
	secret = "generic-hmac-secret-3"
	token  = "generic-token-7"
)

func mapping() Mapping {
	return Mapping{
		HMAC:        &HMAC{Secret: secret, Header: "X-Signature", Prefix: "sha256="},
		Tag:         "alert.uptime.{{ .monitor.name }}",
		Title:       "{{ .alert.name }}",
		Text:        "{{ .details }}",
		Severity:    "{{ .alert.level }}",
		Status:      `{{ if eq .alert.state "up" }}resolved{{ else }}firing{{ end }}`,
		Fingerprint: "uptime:{{ .alert.id }}",
		Room:        "{{ default \"#ops\" .room }}",
		Labels:      map[string]string{"host": "{{ .host }}", "tags": `{{ join "," .tags }}`, "missing": "{{ .nope }}"},
		Fields:      map[string]string{"monitor": "{{ .monitor.name | upper }}"},
		Links:       []Link{{Title: "monitor", URL: "{{ .monitor.url }}"}, {Title: "none", URL: "{{ .nope }}"}},
		SeverityMap: map[string]string{"P2": "critical"},
	}
}

func signed(b []byte) *hooks.Request {
	return hookstest.Req(b, "X-Signature", "sha256="+hookstest.HexHMAC(secret, b))
}

func TestSuiteHMAC(t *testing.T) {
	s, err := New(mapping())
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "generic/uptime", Source: s, Secrets: []string{secret}, BodySigned: true,
		Valid: hookstest.Fixture(t, "uptime.constructed.json"), Sign: signed,
		Forge: map[string]hookstest.Sign{
			"wrong secret": func(b []byte) *hooks.Request {
				return hookstest.Req(b, "X-Signature", "sha256="+hookstest.HexHMAC("x", b))
			},
			"no prefix": func(b []byte) *hooks.Request { return hookstest.Req(b, "X-Signature", hookstest.HexHMAC(secret, b)) },
		},
	})
}

func TestSuiteToken(t *testing.T) {
	m := mapping()
	m.HMAC, m.Token = nil, token
	s, err := New(m)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "generic/uptime", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "uptime.constructed.json"),
		Sign:  func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer "+token) },
		Forge: map[string]hookstest.Sign{
			"wrong token": func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Bearer nope") },
		},
	})
}

func TestBase64HMAC(t *testing.T) {
	m := mapping()
	m.HMAC = &HMAC{Secret: secret, Header: "X-Hook-Signature", Encoding: "base64"}
	s, err := New(m)
	require.NoError(t, err)
	b := []byte(`{"alert":{"name":"x"},"monitor":{"name":"m"}}`)
	r := hookstest.Req(b, "X-Hook-Signature", base64.StdEncoding.EncodeToString(hooks.HMACSHA256(secret, b)))
	require.NoError(t, s.Verify(r))
	r.Body = append(r.Body, ' ')
	require.ErrorIs(t, s.Verify(r), hooks.ErrUnauthorized)
}

func TestParse(t *testing.T) {
	s, err := New(mapping())
	require.NoError(t, err)
	evs, err := s.Parse(signed(hookstest.Fixture(t, "uptime.constructed.json")))
	require.NoError(t, err)
	e := evs[0]
	require.Equal(t, "alert.uptime.api", e.Tag)
	require.Equal(t, "api health check failed", e.Title)
	require.Equal(t, "HTTP 503 from https://api.example.com/healthz (3 checks in a row)", e.Text)
	require.Equal(t, event.Critical, e.Severity, "severity_map P2 → critical")
	require.Equal(t, "P2", e.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, event.Firing, e.Status)
	require.Equal(t, "uptime:chk-42", e.Fingerprint)
	require.Equal(t, "#ops", e.Room)
	require.Equal(t, "web1", e.Labels["host"])
	require.Equal(t, "prod,eu", e.Labels["tags"])
	_, has := e.Labels["missing"]
	require.False(t, has, "a missing key renders empty and the label is dropped")
	require.Equal(t, map[string]string{"monitor": "API"}, e.Fields)
	require.Equal(t, []event.Link{{Title: "monitor", URL: "https://status.example.com/monitors/42"}}, e.Links)

	evs, err = s.Parse(signed([]byte(`{"alert":{"name":"api ok","state":"up","level":"info","id":"chk-42"},"monitor":{"name":"api"},"room":"#api"}`)))
	require.NoError(t, err)
	require.Equal(t, event.Resolved, evs[0].Status)
	require.Equal(t, event.Info, evs[0].Severity)
	require.Equal(t, "#api", evs[0].Room)
}

func TestParseErrorsNameTheField(t *testing.T) {
	s, _ := New(mapping())
	for body, want := range map[string]string{
		`{"monitor":{"name":"api"}}`:                                        "title:",
		`{"alert":{"name":""},"monitor":{"name":"api"}}`:                    "title: the template rendered empty",
		`{"alert":{"name":"x"},"monitor":{"name":"two words"}}`:             `tag: "alert.uptime.two words" is not dotted lowercase words`,
		`["not", "an", "object"]`:                                           "tag:",
		`{"alert":{"name":"x","state":"up"},"monitor":{"name":"m"}, "x": }`: "invalid JSON",
	} {
		_, err := s.Parse(signed([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
	m := mapping()
	m.Status = "{{ .alert.state }}"
	s, _ = New(m)
	_, err := s.Parse(signed([]byte(`{"alert":{"name":"x","state":"flapping"},"monitor":{"name":"m"}}`)))
	require.ErrorContains(t, err, `status: "flapping" is neither firing nor resolved`)
}

func TestNewValidates(t *testing.T) {
	_, err := New(Mapping{Title: "{{ .x", SeverityMap: map[string]string{"P1": "urgent"}, HMAC: &HMAC{Secret: "s", Encoding: "hex2"}})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"tag: is required", "title: ", "unclosed action", "hmac.header: is required", "hmac.encoding: must be hex or base64", "severity_map.P1: must be info, warning or critical"} {
		require.Contains(t, msg, want)
	}
	_, err = New(Mapping{Tag: "t", Title: "x"})
	require.ErrorContains(t, err, "needs a token or an hmac secret")
}
