package hooks_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/hooks"
	"github.com/opsbot/opsbot/hooks/hookstest"
)

func TestValidHexHMAC(t *testing.T) {
	// GitHub's documented vector.
	key, body := "It's a Secret to Everybody", []byte("Hello, World!")
	want := "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	require.True(t, hooks.ValidHexHMAC(key, want, body))
	require.True(t, hooks.ValidHexHMAC(key, strings.ToUpper(want), body))
	require.True(t, hooks.ValidHexHMAC(key, want, []byte("Hello, "), []byte("World!")), "parts are concatenated")
	for _, bad := range []string{"", want[:62], want + "00", "zz" + want[2:], strings.Replace(want, "7", "8", 1)} {
		require.False(t, hooks.ValidHexHMAC(key, bad, body), bad)
	}
	require.False(t, hooks.ValidHexHMAC("other", want, body))
	require.True(t, hooks.ValidBase64HMAC(key, base64.StdEncoding.EncodeToString(hooks.HMACSHA256(key, body)), body))
	require.False(t, hooks.ValidBase64HMAC(key, "!!", body))
}

func TestTokenEqual(t *testing.T) {
	require.True(t, hooks.TokenEqual("abc", "abc"))
	require.False(t, hooks.TokenEqual("abc", "abd"))
	require.False(t, hooks.TokenEqual("abc", "abcd"))
	require.False(t, hooks.TokenEqual("", ""), "an unset token never matches")
}

func TestTokenAuth(t *testing.T) {
	const tok = "s3cret-token"
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	for _, tc := range []struct {
		name    string
		auth    hooks.TokenAuth
		headers []string
		query   string
		want    string // "" ok, else error substring
	}{
		{"bearer", hooks.TokenAuth{Token: tok}, []string{"Authorization", "Bearer " + tok}, "", ""},
		{"bearer lower-case scheme", hooks.TokenAuth{Token: tok}, []string{"Authorization", "bearer " + tok}, "", ""},
		{"basic any user", hooks.TokenAuth{Token: tok}, []string{"Authorization", basic("x", tok)}, "", ""},
		{"basic right user", hooks.TokenAuth{Token: tok, Username: "am"}, []string{"Authorization", basic("am", tok)}, "", ""},
		{"basic wrong user", hooks.TokenAuth{Token: tok, Username: "am"}, []string{"Authorization", basic("x", tok)}, "", "invalid token"},
		{"opsbot header", hooks.TokenAuth{Token: tok}, []string{hooks.TokenHeader, tok}, "", ""},
		{"vendor header", hooks.TokenAuth{Token: tok, Headers: []string{"X-Gitlab-Token"}}, []string{"X-Gitlab-Token", tok}, "", ""},
		{"query", hooks.TokenAuth{Token: tok}, nil, tok, ""},
		{"query refused", hooks.TokenAuth{Token: tok, NoQuery: true}, nil, tok, "missing token"},
		{"nothing", hooks.TokenAuth{Token: tok}, nil, "", "missing token"},
		{"wrong", hooks.TokenAuth{Token: tok}, []string{"Authorization", "Bearer nope"}, "", "invalid token"},
		{"wrong header, right nowhere", hooks.TokenAuth{Token: tok}, []string{hooks.TokenHeader, "nope"}, "", "invalid token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := hookstest.Req(nil, tc.headers...)
			if tc.query != "" {
				r.Query.Set("token", tc.query)
			}
			err := tc.auth.Verify(r)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, hooks.ErrUnauthorized)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), tok)
		})
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	require.NoError(t, hooks.CheckTimestamp("1800000000", now, 0))
	require.NoError(t, hooks.CheckTimestamp("1799999701.5", now, 0))
	require.ErrorContains(t, hooks.CheckTimestamp("1799999699", now, 0), "stale timestamp")
	require.ErrorContains(t, hooks.CheckTimestamp("1800000301", now, 0), "stale timestamp")
	require.NoError(t, hooks.CheckTimestamp("1799999000", now, time.Hour))
	require.ErrorContains(t, hooks.CheckTimestamp("", now, 0), "missing timestamp")
	require.ErrorContains(t, hooks.CheckTimestamp("noon", now, 0), "unreadable timestamp")
}

func TestSeverity(t *testing.T) {
	for in, want := range map[string]event.Severity{
		"critical": event.Critical, "CRITICAL": event.Critical, "page": event.Critical, "P1": event.Critical, "disaster": event.Critical, "high": event.Critical, "error": event.Critical,
		"warning": event.Warning, "average": event.Warning, "P3": event.Warning,
		"info": event.Info, "low": event.Info, "P5": event.Info, "not classified": event.Info,
		"": event.Warning, "odd": event.Warning,
	} {
		require.Equal(t, want, hooks.Severity(in, event.Warning), in)
	}
}

func TestFit(t *testing.T) {
	e := event.Event{
		Tag: "x.y", Title: strings.Repeat("é", event.MaxTitle), Text: strings.Repeat("a", event.MaxText+10),
		Labels:      map[string]string{"ok": "1", "has space": "2", "9lives": "3", "": "4", hooks.LabelSourceSeverity: "P1"},
		Fields:      map[string]string{"f": strings.Repeat("b", event.MaxFieldValue+1)},
		Links:       []event.Link{{URL: "job/asgard/18/"}, {Title: "ok", URL: "https://ci.example.com/1"}, {URL: "javascript:alert(1)"}},
		Fingerprint: strings.Repeat("f", event.MaxFingerprint+1),
	}
	hooks.Fit(&e)
	require.LessOrEqual(t, len(e.Title), event.MaxTitle)
	require.True(t, strings.HasSuffix(e.Title, "…"))
	require.LessOrEqual(t, len(e.Text), event.MaxText)
	require.Contains(t, e.Text, "cut: over the size limit")
	require.Equal(t, map[string]string{"ok": "1", "has_space": "2", "_9lives": "3", hooks.LabelSourceSeverity: "P1"}, e.Labels)
	require.LessOrEqual(t, len(e.Fields["f"]), event.MaxFieldValue)
	require.Equal(t, []event.Link{{Title: "ok", URL: "https://ci.example.com/1"}}, e.Links)
	require.True(t, strings.HasPrefix(e.Fingerprint, "sha256:"))
	require.Empty(t, event.Normalize(&e, time.Now(), ""), "a fitted event passes the log's validation")
}

// fixed is a source that always verifies and returns its events.
type fixed struct {
	events []event.Event
	err    error
}

func (f fixed) Verify(*hooks.Request) error                 { return nil }
func (f fixed) Parse(*hooks.Request) ([]event.Event, error) { return f.events, f.err }

func TestHandlerOutcomes(t *testing.T) {
	body := []byte(`{"x":1}`)
	t.Run("source and time filled, ids returned", func(t *testing.T) {
		srv := hookstest.NewServer("src", fixed{events: []event.Event{{Tag: "a.b", Title: "t"}, {Tag: "a.c", Title: "u"}}})
		code, resp, raw := srv.Do(t, "src", hookstest.Req(body))
		require.Equal(t, 202, code, raw)
		require.Equal(t, []string{"ev1", "ev2"}, resp.IDs)
		evs := srv.Rec.All()
		require.Equal(t, "src", evs[0].Source)
		require.Equal(t, hookstest.Now, evs[0].Time)
	})
	t.Run("store failure is 503", func(t *testing.T) {
		srv := hookstest.NewServer("src", fixed{events: []event.Event{{Tag: "a.b", Title: "t"}}})
		srv.Rec.Err = errors.New("disk full")
		code, resp, raw := srv.Do(t, "src", hookstest.Req(body))
		require.Equal(t, 503, code, raw)
		require.Contains(t, resp.Error, "retry")
		require.NotContains(t, raw, "disk full", "internal errors stay in the log")
	})
	t.Run("invalid event is 400", func(t *testing.T) {
		srv := hookstest.NewServer("src", fixed{events: []event.Event{{Tag: "Not A Tag", Title: "t"}}})
		code, resp, raw := srv.Do(t, "src", hookstest.Req(body))
		require.Equal(t, 400, code, raw)
		require.Contains(t, resp.Error, "tag")
	})
	t.Run("no events is ignored", func(t *testing.T) {
		srv := hookstest.NewServer("src", fixed{})
		code, resp, raw := srv.Do(t, "src", hookstest.Req(body))
		require.Equal(t, 202, code, raw)
		require.NotEmpty(t, resp.Ignored)
	})
	t.Run("outcomes observed", func(t *testing.T) {
		srv := hookstest.NewServer("src", fixed{events: []event.Event{{Tag: "a.b", Title: "t"}}})
		var seen []string
		srv.Handler.Observe = func(source, outcome string) { seen = append(seen, source+" "+outcome) }
		srv.Do(t, "src", hookstest.Req(body))
		srv.Do(t, "src", hookstest.Req(nil))
		srv.Do(t, "nope", hookstest.Req(body))
		require.Equal(t, []string{"src ingested", "src malformed", "nope unknown_source"}, seen)
	})
	t.Run("generic names", func(t *testing.T) {
		srv := hookstest.NewServer("generic/uptime", fixed{events: []event.Event{{Tag: "a.b", Title: "t"}}})
		code, _, raw := srv.Do(t, "generic/uptime", hookstest.Req(body))
		require.Equal(t, 202, code, raw)
		require.Equal(t, "generic/uptime", srv.Rec.All()[0].Source)
		code, _, _ = srv.Do(t, "generic/other", hookstest.Req(body))
		require.Equal(t, 404, code)
	})
}

func TestRegistry(t *testing.T) {
	r := hooks.NewRegistry()
	require.NoError(t, r.Register("b", fixed{}))
	require.NoError(t, r.Register("a", fixed{}))
	require.Error(t, r.Register("a", fixed{}))
	require.Equal(t, []string{"a", "b"}, r.Names())
	_, ok := r.Lookup("c")
	require.False(t, ok)
}
