package graylog

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

const token = "graylog-token-9e1"

func inQuery(tok string) hookstest.Sign {
	return func(b []byte) *hooks.Request {
		r := hookstest.Req(b)
		r.Query.Set("token", tok)
		return r
	}
}

func TestSuite(t *testing.T) {
	s, err := New(token)
	require.NoError(t, err)
	hookstest.Run(t, hookstest.Suite{
		Name: "graylog", Source: s, Secrets: []string{token},
		Valid: hookstest.Fixture(t, "http_notification.test.json"), Sign: inQuery(token),
		Forge: map[string]hookstest.Sign{
			"wrong token": inQuery("graylog-token-9e2"),
			"wrong basic": func(b []byte) *hooks.Request {
				return hookstest.Req(b, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("graylog:nope")))
			},
			"bad basic encoding": func(b []byte) *hooks.Request { return hookstest.Req(b, "Authorization", "Basic %%%") },
		},
	})
}

func TestParse(t *testing.T) {
	s, _ := New(token)
	evs, err := s.Parse(inQuery(token)(hookstest.Fixture(t, "http_notification.test.json")))
	require.NoError(t, err)
	e := evs[0]
	require.Equal(t, "alert.graylog", e.Tag)
	require.Equal(t, "Event Definition Test Title", e.Title)
	require.Equal(t, "Notification test message triggered from user <admin>", e.Text)
	require.Equal(t, event.Warning, e.Severity)
	require.Equal(t, "2", e.Labels[hooks.LabelSourceSeverity])
	require.Equal(t, "graylog:NotificationTestId", e.Fingerprint)
	require.Equal(t, map[string]string{"field1": "value1", "field2": "value2"}, e.Fields)
	require.Equal(t, time.Date(2020, 5, 20, 11, 35, 11, 117e6, time.UTC), e.Time)

	for prio, want := range map[string]event.Severity{"1": event.Info, "2": event.Warning, "3": event.Critical, "4": event.Critical} {
		evs, err := s.Parse(inQuery(token)([]byte(`{"event":{"message":"m","priority":` + prio + `},"backlog":[{"source":"web1","message":"disk full"}]}`)))
		require.NoError(t, err)
		require.Equal(t, want, evs[0].Severity, prio)
		require.Equal(t, "- web1: disk full", evs[0].Text, "the backlog is the text")
	}
}

func TestMalformed(t *testing.T) {
	s, _ := New(token)
	for body, want := range map[string]string{
		`{"event_definition_title":"x"}`:              "missing required field event",
		`{"event":{"id":"1"}}`:                        "missing required field event.message",
		`{"event":{"message":"m","priority":"high"}}`: "invalid number literal",
	} {
		_, err := s.Parse(inQuery(token)([]byte(body)))
		require.ErrorIs(t, err, hooks.ErrMalformed, body)
		require.ErrorContains(t, err, want, body)
	}
}
