package slack

import (
	"context"
	"testing"
	"time"

	"github.com/opsbot/opsbot/clock"
)

func TestMethodLimiterKeepsToTheTier(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	l := newMethodLimiter(fc)
	ctx := context.Background()
	// Tier 3 (chat.update): a burst of 20, then 50 a minute.
	for i := range 20 {
		if d := l.take("chat.update", tier3); d != 0 {
			t.Fatalf("call %d of the burst waits %s", i+1, d)
		}
	}
	if d := l.take("chat.update", tier3); d != 1200*time.Millisecond {
		t.Errorf("the 21st call waits %s, want 1.2s (50 a minute)", d)
	}
	done := make(chan error, 1)
	go func() { done <- l.wait(ctx, "chat.update") }()
	select {
	case <-done:
		t.Fatal("wait returned before the clock moved")
	case <-time.After(20 * time.Millisecond):
	}
	for {
		fc.Advance(100 * time.Millisecond)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(time.Millisecond):
		}
	}
}

func TestA429PausesTheMethod(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	l := newMethodLimiter(fc)
	l.pause("users.info", 30*time.Second)
	if d := l.take("users.info", tier4); d != 30*time.Second {
		t.Errorf("after a 429 asking for 30s: wait %s", d)
	}
	fc.Advance(30 * time.Second)
	if d := l.take("users.info", tier4); d != 0 {
		t.Errorf("after 30s: wait %s", d)
	}
	if d := l.take("reactions.add", tier3); d != 0 {
		t.Errorf("another method is held back: %s", d)
	}
	if err := l.wait(context.Background(), "chat.postMessage"); err != nil {
		t.Errorf("posting is paced by the outbox, not here: %v", err)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1700000000, 0)
	body := []byte(`{"type":"event_callback"}`)
	ts := "1700000000"
	h := func(ts, sig string) map[string][]string {
		return map[string][]string{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {sig}}
	}
	for _, tc := range []struct {
		name    string
		ts, sig string
		now     time.Time
		wantErr error
	}{
		{"good", ts, Sign(secret, ts, body), now, nil},
		{"4m59s old", ts, Sign(secret, ts, body), now.Add(299 * time.Second), nil},
		{"5m01s old", ts, Sign(secret, ts, body), now.Add(301 * time.Second), errStale},
		{"from the future", ts, Sign(secret, ts, body), now.Add(-301 * time.Second), errStale},
		{"upper-case hex", ts, "v0=" + upper(Sign(secret, ts, body)[3:]), now, errBadSignature},
		{"v1 prefix", ts, "v1=" + Sign(secret, ts, body)[3:], now, errBadSignature},
		{"empty", "", "", now, errNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verify(secret, h(tc.ts, tc.sig), body, tc.now)
			if err != tc.wantErr {
				t.Errorf("verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestLooksLike(t *testing.T) {
	for s, want := range map[string]bool{"1515449522.000016": true, "1515449522": false, "F0123": false, ".1": false, "1.": false} {
		if looksLikeTS(s) != want {
			t.Errorf("looksLikeTS(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"C024BE91L": true, "G8PSS9T3V": true, "D024BE91L": true, "ops": false, "#ops": false, "C024be91l": false} {
		if looksLikeChannelID(s) != want {
			t.Errorf("looksLikeChannelID(%q) = %v", s, !want)
		}
	}
}

func TestSlashText(t *testing.T) {
	c := Config{SlashCommands: map[string]string{"/status": "status"}}.withDefaults()
	for _, tc := range []struct{ cmd, text, want string }{
		{"/opsbot", "deploy api to staging", "deploy api to staging"},
		{"/opsbot", "  ", "help"},
		{"/OPSBOT", "ping", "ping"},
		{"/status", "Build Processing degraded", "status Build Processing degraded"},
		{"/status", "", "status"},
	} {
		got, ok := c.slashText(tc.cmd, tc.text)
		if !ok || got != tc.want {
			t.Errorf("%s %q → %q %v, want %q", tc.cmd, tc.text, got, ok, tc.want)
		}
	}
	if _, ok := c.slashText("/weather", "94070"); ok {
		t.Errorf("an unconfigured command was taken")
	}
}

func TestResponseURLsAreSlacks(t *testing.T) {
	a, err := New(Config{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: "http://127.0.0.1:9/"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]bool{
		"https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN": true,
		"http://hooks.slack.com/commands/T1/2/3":                                           false,
		"https://hooks.slack.com.evil.example/x":                                           false,
		"https://evilslack.com/x":                                                          false,
		"http://127.0.0.1:9/commands/T0TEAM001/1.2":                                        true,
	} {
		if got := a.trustedResponseURL(u); got != want {
			t.Errorf("%s: %v, want %v", u, got, want)
		}
	}
	r := newResponseURLs()
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	r.remember("C1", "https://hooks.slack.com/commands/x", now)
	for i := range responseURLUses {
		if _, ok := r.take("C1", now); !ok {
			t.Fatalf("use %d refused", i+1)
		}
	}
	if _, ok := r.take("C1", now); ok {
		t.Errorf("a sixth use allowed")
	}
	r.remember("C1", "https://hooks.slack.com/commands/y", now)
	if _, ok := r.take("C1", now.Add(responseURLLife)); ok {
		t.Errorf("used after 30 minutes")
	}
}
