// Package ircv3test is a small IRC server for tests of what ngircd lacks:
// IRCv3 capability negotiation (CAP LS 302, REQ, ACK/NAK, END), SASL PLAIN
// and EXTERNAL (RPL_LOGGEDIN 900, RPL_SASLSUCCESS 903, ERR_SASLFAIL 904),
// and the account-tag, message-tags (msgid), extended-join and
// account-notify capabilities.
//
// It speaks the client side of the protocol only as far as a bot needs:
// registration (NICK, USER, 001 and 376), JOIN with NAMES, PRIVMSG to
// channels and nicks, PING/PONG, QUIT, and a NickServ that records
// IDENTIFY. The people in the chat are simulated: Say makes a user who is not
// connected speak, with or without a services account, and Received returns
// what the connected clients sent.
package ircv3test

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ServerName is the server's IRC name.
const ServerName = "ircv3.test"

// WaitTimeout bounds every wait of the server's helpers.
const WaitTimeout = 10 * time.Second

// Caps are the capabilities the server offers.
var Caps = []string{"account-notify", "account-tag", "extended-join", "message-tags", "sasl=PLAIN,EXTERNAL"}

// Options configure a Server.
type Options struct {
	// Passwords are the SASL PLAIN accounts: account → password.
	Passwords map[string]string
	// Fingerprints are the SASL EXTERNAL accounts: the SHA-256 of a client
	// certificate (lower-case hex) → account. EXTERNAL needs TLS.
	Fingerprints map[string]string
	// TLS, when set, makes the server speak TLS only; it asks for a client
	// certificate (without requiring one).
	TLS *tls.Config
	// TakenNicks are nicknames in use by someone else: NICK gets 433.
	TakenNicks []string
	// Caps replaces the capabilities offered (Caps by default).
	Caps []string
}

// Server is a running test server.
type Server struct {
	opts Options
	ln   net.Listener

	mu       sync.Mutex
	conns    map[*conn]bool
	received []Received
	changed  chan struct{}
	msgid    int
	wg       sync.WaitGroup
}

// Received is a line a client sent, with who sent it.
type Received struct {
	Nick    string
	Account string
	Line    string
	Command string
	Params  []string
}

// Start starts a server on a free loopback port and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	var ln net.Listener
	var err error
	if opts.TLS != nil {
		conf := opts.TLS.Clone()
		conf.ClientAuth = tls.RequestClientCert
		ln, err = tls.Listen("tcp", "127.0.0.1:0", conf)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("ircv3test: %v", err)
	}
	if opts.Caps == nil {
		opts.Caps = Caps
	}
	s := &Server{opts: opts, ln: ln, conns: map[*conn]bool{}, changed: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and closes every connection.
func (s *Server) Close() {
	_ = s.ln.Close()
	s.DropAll()
	s.wg.Wait()
}

// DropAll closes every client connection.
func (s *Server) DropAll() {
	s.mu.Lock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &conn{s: s, nc: nc, w: bufio.NewWriter(nc), caps: map[string]bool{}, channels: map[string]bool{}}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.notify()
			s.mu.Unlock()
		}()
	}
}

// notify wakes the waiters; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// User is someone speaking in the chat who is not a client of the server.
type User struct {
	Nick, Ident, Host string
	// Account is the services account the user is logged in to, or "".
	Account string
}

func (u User) source() string { return u.Nick + "!" + u.Ident + "@" + u.Host }

// Say makes u send text to target (a channel or a client's nick): every
// client in the channel (or with that nick) receives a PRIVMSG, tagged
// according to the capabilities it enabled.
func (s *Server) Say(u User, target, text string) {
	s.mu.Lock()
	s.msgid++
	id := "m" + strconv.Itoa(s.msgid)
	var to []*conn
	for c := range s.conns {
		if c.receives(target) {
			to = append(to, c)
		}
	}
	s.mu.Unlock()
	for _, c := range to {
		c.send(c.tags(u.Account, id) + ":" + u.source() + " PRIVMSG " + target + " :" + text)
	}
}

// Join makes u join channel: the clients in it see the JOIN (extended, if
// they asked for extended-join).
func (s *Server) Join(u User, channel string) {
	for _, c := range s.members(channel) {
		if c.has("extended-join") {
			acct := u.Account
			if acct == "" {
				acct = "*"
			}
			c.send(":" + u.source() + " JOIN " + channel + " " + acct + " :" + u.Nick)
		} else {
			c.send(":" + u.source() + " JOIN " + channel)
		}
	}
}

// Account makes u log in to account ("" logs out): the clients sharing a
// channel with u that asked for account-notify see an ACCOUNT message.
func (s *Server) Account(u User, channel, account string) {
	if account == "" {
		account = "*"
	}
	for _, c := range s.members(channel) {
		if c.has("account-notify") {
			c.send(":" + u.source() + " ACCOUNT " + account)
		}
	}
}

func (s *Server) members(channel string) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*conn
	for c := range s.conns {
		if c.receives(channel) {
			out = append(out, c)
		}
	}
	return out
}

// Received returns the lines clients sent so far (registration and CAP
// included; AUTHENTICATE payloads as sent).
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// WaitFor waits until a received line satisfies match and returns it.
func (s *Server) WaitFor(t testing.TB, what string, match func(Received) bool) Received {
	t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		lines, changed := s.received, s.changed
		s.mu.Unlock()
		for _, r := range lines {
			if match(r) {
				return r
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("ircv3test: no %s within %s", what, WaitTimeout)
		}
	}
}

// WaitJoined waits until a client with nick is in channel.
func (s *Server) WaitJoined(t testing.TB, nick, channel string) {
	t.Helper()
	s.WaitFor(t, nick+" joining "+channel, func(r Received) bool {
		return r.Nick == nick && r.Command == "JOIN" && len(r.Params) > 0 && strings.EqualFold(r.Params[0], channel)
	})
}

// conn is one client connection.
type conn struct {
	s  *Server
	nc net.Conn
	w  *bufio.Writer
	wm sync.Mutex

	// set by the serve goroutine, read under s.mu
	nick, user, account string
	caps                map[string]bool
	channels            map[string]bool
	registered          bool
}

func (c *conn) has(cap string) bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.caps[cap]
}

// receives reports whether a message to target reaches c; s.mu must be held.
func (c *conn) receives(target string) bool {
	if !c.registered {
		return false
	}
	if strings.HasPrefix(target, "#") {
		return c.channels[strings.ToLower(target)]
	}
	return strings.EqualFold(c.nick, target)
}

// tags is the tag prefix of a message from a user logged in to account.
func (c *conn) tags(account, msgid string) string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var tags []string
	if c.caps["account-tag"] && account != "" {
		tags = append(tags, "account="+account)
	}
	if c.caps["message-tags"] {
		tags = append(tags, "msgid="+msgid)
	}
	if len(tags) == 0 {
		return ""
	}
	return "@" + strings.Join(tags, ";") + " "
}

func (c *conn) send(line string) {
	c.wm.Lock()
	defer c.wm.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(WaitTimeout))
	_, _ = c.w.WriteString(line + "\r\n")
	_ = c.w.Flush()
}

func (c *conn) numeric(code, text string, params ...string) {
	nick := c.nick
	if nick == "" {
		nick = "*"
	}
	p := ""
	if len(params) > 0 {
		p = " " + strings.Join(params, " ")
	}
	c.send(":" + ServerName + " " + code + " " + nick + p + " :" + text)
}

func (c *conn) serve() {
	defer c.nc.Close()
	r := bufio.NewReader(c.nc)
	negotiating := false
	sasl := ""
	for {
		raw, err := r.ReadString('\n')
		if err != nil {
			return
		}
		raw = strings.TrimRight(raw, "\r\n")
		cmd, params := parse(raw)
		c.s.mu.Lock()
		c.s.received = append(c.s.received, Received{Nick: c.nick, Account: c.account, Line: raw, Command: cmd, Params: params})
		c.s.notify()
		c.s.mu.Unlock()
		switch cmd {
		case "CAP":
			negotiating = c.cap(params, negotiating)
			if !negotiating {
				c.maybeWelcome()
			}
		case "AUTHENTICATE":
			sasl = c.authenticate(params, sasl)
		case "NICK":
			if len(params) == 0 {
				continue
			}
			if slices.Contains(c.s.opts.TakenNicks, params[0]) {
				c.numeric("433", "Nickname is already in use", params[0])
				continue
			}
			c.setNick(params[0])
			if !negotiating {
				c.maybeWelcome()
			}
		case "USER":
			if len(params) > 0 {
				c.s.mu.Lock()
				c.user = params[0]
				c.s.mu.Unlock()
			}
			if !negotiating {
				c.maybeWelcome()
			}
		case "PING":
			c.send(":" + ServerName + " PONG " + ServerName + " :" + last(params))
		case "JOIN":
			c.join(params)
		case "PART":
			c.part(params)
		case "PRIVMSG", "NOTICE":
			c.privmsg(cmd, params)
		case "QUIT":
			c.send("ERROR :Closing link")
			return
		}
	}
}

func (c *conn) setNick(nick string) {
	c.s.mu.Lock()
	old, registered := c.nick, c.registered
	c.nick = nick
	c.s.mu.Unlock()
	if registered {
		c.send(":" + old + "!" + c.user + "@127.0.0.1 NICK :" + nick)
	}
}

// cap handles a CAP subcommand and returns whether negotiation goes on.
func (c *conn) cap(params []string, negotiating bool) bool {
	if len(params) == 0 {
		return negotiating
	}
	switch strings.ToUpper(params[0]) {
	case "LS":
		c.send(":" + ServerName + " CAP * LS :" + strings.Join(c.s.opts.Caps, " "))
		return true
	case "REQ":
		want := strings.Fields(last(params[1:]))
		offered := map[string]bool{}
		for _, cp := range c.s.opts.Caps {
			name, _, _ := strings.Cut(cp, "=")
			offered[name] = true
		}
		for _, w := range want {
			if !offered[strings.TrimPrefix(w, "-")] {
				c.send(":" + ServerName + " CAP * NAK :" + last(params[1:]))
				return true
			}
		}
		c.s.mu.Lock()
		for _, w := range want {
			c.caps[w] = true
		}
		c.s.mu.Unlock()
		c.send(":" + ServerName + " CAP * ACK :" + strings.Join(want, " "))
		return true
	case "END":
		return false
	}
	return negotiating
}

// authenticate runs one step of SASL and returns the mechanism in progress.
func (c *conn) authenticate(params []string, mech string) string {
	arg := last(params)
	if mech == "" {
		switch arg {
		case "PLAIN", "EXTERNAL":
			c.send("AUTHENTICATE +")
			return arg
		}
		c.numeric("908", "are available SASL mechanisms", "PLAIN,EXTERNAL")
		c.numeric("904", "SASL authentication failed")
		return ""
	}
	account := ""
	switch mech {
	case "PLAIN":
		raw, err := base64.StdEncoding.DecodeString(arg)
		parts := strings.Split(string(raw), "\x00")
		if err == nil && len(parts) == 3 {
			if pw, ok := c.s.opts.Passwords[parts[1]]; ok && pw == parts[2] && parts[1] != "" {
				account = parts[1]
			}
		}
	case "EXTERNAL":
		if tc, ok := c.nc.(*tls.Conn); ok {
			if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
				sum := sha256.Sum256(certs[0].Raw)
				account = c.s.opts.Fingerprints[hex.EncodeToString(sum[:])]
			}
		}
	}
	if account == "" {
		c.numeric("904", "SASL authentication failed")
		return ""
	}
	c.s.mu.Lock()
	c.account = account
	c.s.mu.Unlock()
	c.numeric("900", "You are now logged in as "+account, c.nick+"!"+c.user+"@127.0.0.1", account)
	c.numeric("903", "SASL authentication successful")
	return ""
}

func (c *conn) maybeWelcome() {
	c.s.mu.Lock()
	ready := c.nick != "" && c.user != "" && !c.registered
	if ready {
		c.registered = true
		c.s.notify()
	}
	c.s.mu.Unlock()
	if !ready {
		return
	}
	c.numeric("001", "Welcome to the IRCv3 test network "+c.nick)
	c.numeric("005", "are supported by this server", "NICKLEN=30", "CHANTYPES=#", "NETWORK=ircv3test")
	c.numeric("376", "End of MOTD command")
}

func (c *conn) join(params []string) {
	if len(params) == 0 {
		return
	}
	for _, ch := range strings.Split(params[0], ",") {
		c.s.mu.Lock()
		c.channels[strings.ToLower(ch)] = true
		var names []string
		for o := range c.s.conns {
			if o.channels[strings.ToLower(ch)] {
				names = append(names, o.nick)
			}
		}
		c.s.notify()
		c.s.mu.Unlock()
		self := User{Nick: c.nick, Ident: c.user, Host: "127.0.0.1", Account: c.account}
		c.s.Join(self, ch)
		c.numeric("353", strings.Join(names, " "), "=", ch)
		c.numeric("366", "End of NAMES list", ch)
	}
}

func (c *conn) part(params []string) {
	if len(params) == 0 {
		return
	}
	c.send(":" + c.nick + "!" + c.user + "@127.0.0.1 PART " + params[0])
	c.s.mu.Lock()
	delete(c.channels, strings.ToLower(params[0]))
	c.s.mu.Unlock()
}

func (c *conn) privmsg(cmd string, params []string) {
	if len(params) < 2 {
		return
	}
	target, text := params[0], params[1]
	if strings.EqualFold(target, "NickServ") {
		if strings.HasPrefix(strings.ToUpper(text), "IDENTIFY ") {
			c.send(":NickServ!NickServ@services." + ServerName + " NOTICE " + c.nick + " :You are now identified.")
		}
		return
	}
	c.s.mu.Lock()
	self := User{Nick: c.nick, Ident: c.user, Host: "127.0.0.1", Account: c.account}
	var to []*conn
	for o := range c.s.conns {
		if o != c && o.receives(target) {
			to = append(to, o)
		}
	}
	c.s.msgid++
	id := "m" + strconv.Itoa(c.s.msgid)
	c.s.mu.Unlock()
	for _, o := range to {
		o.send(o.tags(self.Account, id) + ":" + self.source() + " " + cmd + " " + target + " :" + text)
	}
}

// parse splits a client line into its command and parameters (clients send no tags or source).
func parse(raw string) (string, []string) {
	if strings.HasPrefix(raw, "@") {
		_, raw, _ = strings.Cut(raw, " ")
	}
	if strings.HasPrefix(raw, ":") {
		_, raw, _ = strings.Cut(raw, " ")
	}
	var cmd string
	var params []string
	for raw != "" {
		if strings.HasPrefix(raw, ":") && cmd != "" {
			params = append(params, raw[1:])
			break
		}
		var word string
		word, raw, _ = strings.Cut(raw, " ")
		if word == "" {
			continue
		}
		if cmd == "" {
			cmd = strings.ToUpper(word)
		} else {
			params = append(params, word)
		}
	}
	return cmd, params
}

func last(params []string) string {
	if len(params) == 0 {
		return ""
	}
	return params[len(params)-1]
}

// String describes the server, for test logs.
func (s *Server) String() string { return fmt.Sprintf("ircv3test server on %s", s.Addr()) }
