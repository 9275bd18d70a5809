package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/chat/slack"
	"github.com/opsbot/opsbot/chat/slack/slacktest"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/config"
)

// The Events API path: requests signed as Slack's docs say, checked
// against the recorded payloads and the worked signing example.

type vector struct {
	Slack struct {
		Secret    string `json:"signing_secret"`
		Timestamp string `json:"timestamp"`
		Header    string `json:"header_value"`
	} `json:"slack"`
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// httpRig is an events-mode adapter on a fake clock, its handler, and what it delivers.
type httpRig struct {
	adapter *slack.Adapter
	clock   *clock.Fake
	srv     *httptest.Server
	in      chan chat.Message
	secret  string
}

func startHTTP(t *testing.T, secret string, now time.Time) *httpRig {
	fake := slacktest.Start(t)
	fc := clock.NewFake(now)
	cfg := slack.Config{Mode: slack.ModeEvents, BotToken: slacktest.BotToken, SigningSecret: config.Secret(secret),
		APIURL: fake.APIURL(), SlashCommands: map[string]string{"/webhook-collect": "ping"}}
	a, err := slack.New(cfg, slack.Options{Logger: testLogger(t), Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	r := &httpRig{adapter: a, clock: fc, srv: httptest.NewServer(a.Handler()), in: make(chan chat.Message, 16), secret: secret}
	t.Cleanup(r.srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx, r.in) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// do sends body to path with the given timestamp and signature headers.
func (r *httpRig) do(t *testing.T, path, ctype string, body []byte, ts, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", ctype)
	if ts != "" {
		req.Header.Set("X-Slack-Request-Timestamp", ts)
	}
	if sig != "" {
		req.Header.Set("X-Slack-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// signed sends body signed at the rig's current time.
func (r *httpRig) signed(t *testing.T, path, ctype string, body []byte) (int, string) {
	ts := strconv.FormatInt(r.clock.Now().Unix(), 10)
	return r.do(t, path, ctype, body, ts, slack.Sign([]byte(r.secret), ts, body))
}

func (r *httpRig) receive(t *testing.T) chat.Message {
	t.Helper()
	select {
	case m := <-r.in:
		return m
	case <-time.After(wait):
		t.Fatalf("no message delivered within %s", wait)
	}
	return chat.Message{}
}

const form = "application/x-www-form-urlencoded"

func TestSignatureOfSlacksWorkedExample(t *testing.T) {
	var v vector
	if err := json.Unmarshal(readFile(t, "signing_vector.json"), &v); err != nil {
		t.Fatal(err)
	}
	body := readFile(t, "slash_command.signing_example.txt")
	if got := slack.Sign([]byte(v.Slack.Secret), v.Slack.Timestamp, body); got != v.Slack.Header {
		t.Fatalf("Sign = %s, Slack's docs say %s", got, v.Slack.Header)
	}
	secs, _ := strconv.ParseInt(v.Slack.Timestamp, 10, 64)
	r := startHTTP(t, v.Slack.Secret, time.Unix(secs, 0).Add(30*time.Second))

	code, out := r.do(t, slack.CommandsPath, form, body, v.Slack.Timestamp, v.Slack.Header)
	if code != http.StatusOK || !strings.Contains(out, "in_channel") {
		t.Fatalf("the documented request: %d %s", code, out)
	}
	m := r.receive(t)
	if m.Room.ID != "G8PSS9T3V" || m.From.ID != "U2CERLKJA" || m.From.Name != "roadrunner" || m.Text != "opsbot ping" {
		t.Errorf("the slash command arrived as %+v", m)
	}

	code, out = r.do(t, slack.CommandsPath, form, body, v.Slack.Timestamp, v.Slack.Header)
	if code != http.StatusUnauthorized || !strings.Contains(out, "replay") {
		t.Errorf("the same request again: %d %s, want 401 (replay)", code, out)
	}

	// Five minutes later, the documented timestamp is stale.
	r.clock.Advance(5 * time.Minute)
	other := []byte(strings.Replace(string(body), "roadrunner", "coyote", 1))
	code, out = r.do(t, slack.CommandsPath, form, other, v.Slack.Timestamp, slack.Sign([]byte(v.Slack.Secret), v.Slack.Timestamp, other))
	if code != http.StatusUnauthorized || !strings.Contains(out, "5 minutes") {
		t.Errorf("a stale timestamp: %d %s, want 401", code, out)
	}
}

func TestForgedRequestsAreRefused(t *testing.T) {
	const secret = "a-signing-secret-for-tests"
	r := startHTTP(t, secret, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	body := readFile(t, "event_callback.app_mention.json")
	now := strconv.FormatInt(r.clock.Now().Unix(), 10)
	old := strconv.FormatInt(r.clock.Now().Add(-5*time.Minute-time.Second).Unix(), 10)
	future := strconv.FormatInt(r.clock.Now().Add(5*time.Minute+time.Second).Unix(), 10)
	good := slack.Sign([]byte(secret), now, body)
	for _, tc := range []struct {
		name, ts, sig, want string
	}{
		{"no signature", now, "", "missing"},
		{"no timestamp", "", good, "missing"},
		{"signed with another secret", now, slack.Sign([]byte("not-the-secret"), now, body), "does not match"},
		{"a signature for other bytes", now, slack.Sign([]byte(secret), now, []byte(`{"type":"event_callback"}`)), "does not match"},
		{"a timestamp changed after signing", strconv.FormatInt(r.clock.Now().Unix()-1, 10), good, "does not match"},
		{"a stale timestamp", old, slack.Sign([]byte(secret), old, body), "5 minutes"},
		{"a timestamp in the future", future, slack.Sign([]byte(secret), future, body), "5 minutes"},
		{"a timestamp that is not a number", "yesterday", good, "not a unix time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := r.do(t, slack.EventsPath, "application/json", body, tc.ts, tc.sig)
			if code != http.StatusUnauthorized || !strings.Contains(out, tc.want) {
				t.Errorf("%d %q, want 401 saying %q", code, out, tc.want)
			}
		})
	}
	select {
	case m := <-r.in:
		t.Errorf("a refused request was delivered: %+v", m)
	default:
	}
}

func TestRecordedEventsArrive(t *testing.T) {
	const secret = "a-signing-secret-for-tests"
	r := startHTTP(t, secret, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))

	code, out := r.signed(t, slack.EventsPath, "application/json", readFile(t, "url_verification.json"))
	if code != http.StatusOK || !strings.Contains(out, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
		t.Fatalf("url_verification: %d %s", code, out)
	}

	if code, out := r.signed(t, slack.EventsPath, "application/json", readFile(t, "event_callback.app_mention.json")); code != http.StatusOK {
		t.Fatalf("app_mention: %d %s", code, out)
	}
	m := r.receive(t)
	if m.ID != "msg:C123ABC456:1515449522.000016" || m.Room.ID != "C123ABC456" || m.From.ID != "U061F7AUR" || m.From.Adapter != "slack" || m.Direct {
		t.Errorf("app_mention arrived as %+v", m)
	}
	if !strings.HasSuffix(m.Text, "is it everything a river should be?") {
		t.Errorf("text %q", m.Text)
	}
	if m.Thread.ID != "1515449522.000016" {
		t.Errorf("the reply would not go in the mention's thread: %+v", m.Thread)
	}

	if code, out := r.signed(t, slack.EventsPath, "application/json", readFile(t, "event_callback.message_im.json")); code != http.StatusOK {
		t.Fatalf("message.im: %d %s", code, out)
	}
	m = r.receive(t)
	if !m.Direct || m.Room.ID != "D024BE91L" || m.Text != "Hello hello can you hear me?" || !m.Thread.IsZero() {
		t.Errorf("message.im arrived as %+v", m)
	}

	// The envelope a Socket Mode app gets carries the same callback.
	var env struct {
		Payload json.RawMessage `json:"payload"`
		Type    string          `json:"type"`
	}
	if err := json.Unmarshal(readFile(t, "socket_mode.events_api.constructed.json"), &env); err != nil || env.Type != "events_api" {
		t.Fatalf("envelope: %v %q", err, env.Type)
	}
	// Delivered again (it is the app_mention above), it is handled once.
	if code, _ := r.signed(t, slack.EventsPath, "application/json", env.Payload); code != http.StatusOK {
		t.Fatalf("envelope payload: %d", code)
	}
	if code, _ := r.signed(t, slack.EventsPath, "application/json", readFile(t, "event_callback.message_im.json")); code != http.StatusUnauthorized {
		// the same bytes at the same second are a replay
		t.Errorf("a replayed message.im was not refused")
	}
	// Envelopes are processed in order: had the redelivery arrived, it
	// would come before this message.
	r.clock.Advance(time.Second)
	im := strings.Replace(string(readFile(t, "event_callback.message_im.json")), "1355517523.000005", "1355517524.000001", 2)
	im = strings.Replace(im, "Ev0PV52K21", "Ev0PV52K22", 1)
	if code, out := r.signed(t, slack.EventsPath, "application/json", []byte(im)); code != http.StatusOK {
		t.Fatalf("another message: %d %s", code, out)
	}
	if m := r.receive(t); m.ID != "msg:D024BE91L:1355517524.000001" {
		t.Errorf("a redelivered event arrived again: %+v", m)
	}
}

func TestBadRequestsNameTheField(t *testing.T) {
	const secret = "a-signing-secret-for-tests"
	r := startHTTP(t, secret, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name, path, ctype, body, want string
	}{
		{"events body not JSON", slack.EventsPath, "application/json", "type=event_callback", "body"},
		{"events without type", slack.EventsPath, "application/json", `{"event_id":"Ev1"}`, "type"},
		{"interaction without payload", slack.InteractivePath, form, "x=1", "payload"},
		{"interaction payload not JSON", slack.InteractivePath, form, url.Values{"payload": {"{"}}.Encode(), "payload"},
		{"command without user", slack.CommandsPath, form, "command=%2Fopsbot&channel_id=C1&trigger_id=1.2", "user_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := r.signed(t, tc.path, tc.ctype, []byte(tc.body))
			if code != http.StatusBadRequest || !strings.Contains(out, tc.want) {
				t.Errorf("%d %q, want 400 naming %q", code, out, tc.want)
			}
			r.clock.Advance(time.Second) // a fresh signature for the next request
		})
	}
	big := make([]byte, 2<<20)
	if code, _ := r.signed(t, slack.EventsPath, "application/json", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MB body: %d, want 413", code)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(b.String()))
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
