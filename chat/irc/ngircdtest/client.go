package ngircdtest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// WaitTimeout bounds every wait of a Client.
const WaitTimeout = 10 * time.Second

// Client is an IRC user for tests: it speaks raw protocol lines, answers
// PING, and keeps every line it receives so a test can wait for one.
type Client struct {
	Nick string

	conn net.Conn
	w    *bufio.Writer
	wmu  sync.Mutex

	mu      sync.Mutex
	lines   []Line
	changed chan struct{} // closed and renewed whenever lines grows or the connection ends
	closed  bool
}

// Line is one message the client received.
type Line struct {
	Raw     string
	Tags    map[string]string
	Source  string // nick!user@host or a server name
	Command string
	Params  []string
}

// Nick is the nickname part of the source.
func (l Line) Nick() string {
	n, _, _ := strings.Cut(l.Source, "!")
	return n
}

// Last is the last parameter (the text of a PRIVMSG), or "".
func (l Line) Last() string {
	if len(l.Params) == 0 {
		return ""
	}
	return l.Params[len(l.Params)-1]
}

// Dial connects to addr as nick and waits for the server's welcome.
func Dial(t testing.TB, addr, nick string) *Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, WaitTimeout)
	if err != nil {
		t.Fatalf("ngircdtest: dial %s: %v", addr, err)
	}
	return register(t, conn, nick)
}

// DialTLS connects with TLS, trusting conf's roots.
func DialTLS(t testing.TB, addr, nick string, conf *tls.Config) *Client {
	t.Helper()
	d := &net.Dialer{Timeout: WaitTimeout}
	conn, err := tls.DialWithDialer(d, "tcp", addr, conf)
	if err != nil {
		t.Fatalf("ngircdtest: dial %s: %v", addr, err)
	}
	return register(t, conn, nick)
}

func register(t testing.TB, conn net.Conn, nick string) *Client {
	t.Helper()
	c := &Client{Nick: nick, conn: conn, w: bufio.NewWriter(conn), changed: make(chan struct{})}
	t.Cleanup(c.Close)
	go c.read()
	c.Send(t, "NICK %s", nick)
	c.Send(t, "USER %s 0 * :test user %s", nick, nick)
	c.WaitFor(t, "the welcome of "+nick, func(l Line) bool { return l.Command == "001" })
	return c
}

// Close closes the connection.
func (c *Client) Close() { _ = c.conn.Close() }

// Send sends one raw line.
func (c *Client) Send(t testing.TB, format string, args ...any) {
	t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(WaitTimeout))
	if _, err := fmt.Fprintf(c.w, format+"\r\n", args...); err == nil {
		err = c.w.Flush()
		if err != nil {
			t.Fatalf("ngircdtest: %s: send: %v", c.Nick, err)
		}
	} else {
		t.Fatalf("ngircdtest: %s: send: %v", c.Nick, err)
	}
}

// Join joins channel (with key, if not empty) and waits until the server confirms.
func (c *Client) Join(t testing.TB, channel, key string) {
	t.Helper()
	from := c.Len()
	if key != "" {
		c.Send(t, "JOIN %s %s", channel, key)
	} else {
		c.Send(t, "JOIN %s", channel)
	}
	c.WaitFrom(t, from, "joining "+channel, func(l Line) bool {
		return l.Command == "366" && len(l.Params) > 1 && strings.EqualFold(l.Params[1], channel)
	})
}

// Say sends text to target (a channel or a nick).
func (c *Client) Say(t testing.TB, target, text string) {
	t.Helper()
	c.Send(t, "PRIVMSG %s :%s", target, text)
}

// Oper makes the client an IRC operator.
func (c *Client) Oper(t testing.TB) {
	t.Helper()
	from := c.Len()
	c.Send(t, "OPER %s %s", OperName, OperPassword)
	c.WaitFrom(t, from, "operator status", func(l Line) bool { return l.Command == "381" })
}

// Kill disconnects nick from the server (the client must be an operator).
func (c *Client) Kill(t testing.TB, nick string) {
	t.Helper()
	c.Send(t, "KILL %s :test drop", nick)
}

// WaitClosed waits until the server closes the connection.
func (c *Client) WaitClosed(t testing.TB) {
	t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		changed, closed := c.changed, c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("ngircdtest: %s: the connection was not closed within %s", c.Nick, WaitTimeout)
		}
	}
}

// Len is the number of lines received so far.
func (c *Client) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// Lines returns the lines received so far.
func (c *Client) Lines() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// WaitFor waits for a line that match accepts, among all lines received.
func (c *Client) WaitFor(t testing.TB, what string, match func(Line) bool) Line {
	t.Helper()
	return c.WaitFrom(t, 0, what, match)
}

// WaitFrom waits for a line that match accepts, among the lines from index from on.
func (c *Client) WaitFrom(t testing.TB, from int, what string, match func(Line) bool) Line {
	t.Helper()
	var found Line
	c.Until(t, what, func(lines []Line) bool {
		for _, l := range lines[min(from, len(lines)):] {
			if match(l) {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

// Until waits until check accepts the lines received so far.
func (c *Client) Until(t testing.TB, what string, check func([]Line) bool) {
	t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		lines, changed, closed := c.lines, c.changed, c.closed
		c.mu.Unlock()
		if check(lines) {
			return
		}
		if closed {
			t.Fatalf("ngircdtest: %s: connection closed while waiting for %s", c.Nick, what)
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("ngircdtest: %s: no %s within %s", c.Nick, what, WaitTimeout)
		}
	}
}

func (c *Client) read() {
	r := bufio.NewReader(c.conn)
	defer func() {
		c.mu.Lock()
		c.closed = true
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}()
	for {
		raw, err := r.ReadString('\n')
		if err != nil {
			return
		}
		l := Parse(raw)
		if l.Command == "PING" {
			c.wmu.Lock()
			_, _ = fmt.Fprintf(c.w, "PONG :%s\r\n", l.Last())
			_ = c.w.Flush()
			c.wmu.Unlock()
			continue
		}
		c.mu.Lock()
		c.lines = append(c.lines, l)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// Parse parses one IRC protocol line (with or without its CR LF).
func Parse(raw string) Line {
	raw = strings.TrimRight(raw, "\r\n")
	l := Line{Raw: raw}
	rest := raw
	if strings.HasPrefix(rest, "@") {
		var tags string
		tags, rest, _ = strings.Cut(rest[1:], " ")
		l.Tags = map[string]string{}
		for _, tag := range strings.Split(tags, ";") {
			k, v, _ := strings.Cut(tag, "=")
			l.Tags[k] = unescapeTag(v)
		}
	}
	if strings.HasPrefix(rest, ":") {
		l.Source, rest, _ = strings.Cut(rest[1:], " ")
	}
	for rest != "" {
		if strings.HasPrefix(rest, ":") {
			l.Params = append(l.Params, rest[1:])
			break
		}
		var word string
		word, rest, _ = strings.Cut(rest, " ")
		if word == "" {
			continue
		}
		if l.Command == "" {
			l.Command = strings.ToUpper(word)
		} else {
			l.Params = append(l.Params, word)
		}
	}
	return l
}

func unescapeTag(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			if v[i] != '\\' {
				b.WriteByte(v[i])
			}
			continue
		}
		i++
		switch v[i] {
		case ':':
			b.WriteByte(';')
		case 's':
			b.WriteByte(' ')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}
