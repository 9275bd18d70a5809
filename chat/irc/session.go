package irc

import (
	"context"
	"strconv"
	"strings"

	"github.com/lrstanley/girc"
)

// session is the state of one connection, from dial to disconnect. Its
// fields are guarded by Adapter.mu.
type session struct {
	ctx  context.Context
	done chan struct{} // closed when the connection has ended

	nick       string
	nickTries  int
	welcomed   bool // RPL_WELCOME came: the nick is settled
	registered bool // the MOTD ended: channels may be joined
	saslOK     bool
	refused    bool         // the bot is hanging up on this server (SASL not done)
	self       *girc.Source // our own nick!user@host, once a JOIN showed it

	channels map[string]*channel // by folded name
	pongs    map[string]chan struct{}
	waiting  map[string]int   // folded target → posts waiting for their confirmation
	failures map[string]error // folded target → an error numeric that came while posts waited
}

type channel struct {
	name, key string
	joined    bool
	failure   string // why the last JOIN failed, until one succeeds
}

// startSession makes the state for a new connection, with the configured
// channels and those joined on demand before.
func (a *Adapter) startSession(ctx context.Context) *session {
	s := &session{
		ctx:      ctx,
		done:     make(chan struct{}),
		nick:     a.cfg.Nick,
		channels: map[string]*channel{},
		pongs:    map[string]chan struct{}{},
		waiting:  map[string]int{},
		failures: map[string]error{},
	}
	for _, c := range a.cfg.Channels {
		s.channels[fold(c.Name)] = &channel{name: c.Name, key: c.Key.Reveal()}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, name := range a.extra {
		if s.channels[k] == nil {
			s.channels[k] = &channel{name: name}
		}
	}
	a.sess = s
	a.notifyLocked()
	return s
}

// endSession marks the connection as ended and reports whether it had registered.
func (a *Adapter) endSession(s *session) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(s.done)
	if a.sess == s {
		a.sess = nil
	}
	a.notifyLocked()
	return s.registered
}

// notifyLocked wakes whoever waits for a state change; a.mu must be held.
func (a *Adapter) notifyLocked() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// current returns the session in progress, or nil; a.mu must be held.
func (a *Adapter) current() *session { return a.sess }

// register installs the handlers of the protocol events the adapter follows.
func (a *Adapter) register() {
	h := a.client.Handlers
	h.Add(girc.RPL_WELCOME, a.onWelcome)
	h.Add(girc.RPL_ENDOFMOTD, a.onRegistered)
	h.Add(girc.ERR_NOMOTD, a.onRegistered)
	h.Add(girc.CONNECTED, a.onRegistered)
	h.Add(girc.RPL_SASLSUCCESS, a.onSASLSuccess)
	h.Add(girc.RPL_LOGGEDIN, a.onLoggedIn)
	for _, code := range []string{girc.ERR_SASLFAIL, girc.ERR_SASLTOOLONG, girc.ERR_SASLABORTED, girc.RPL_NICKLOCKED} {
		h.Add(code, a.onSASLFailure)
	}
	h.Add(girc.JOIN, a.onJoin)
	h.Add(girc.PART, a.onPart)
	h.Add(girc.KICK, a.onKick)
	h.Add(girc.NICK, a.onNick)
	h.Add(girc.ERR_ERRONEUSNICKNAME, a.onBadNick)
	for _, code := range []string{girc.ERR_TOOMANYCHANNELS, girc.ERR_CHANNELISFULL, girc.ERR_INVITEONLYCHAN,
		girc.ERR_BANNEDFROMCHAN, girc.ERR_BADCHANNELKEY, girc.ERR_BADCHANMASK, errNeedReggedNick} {
		h.Add(code, a.onJoinError)
	}
	for _, code := range []string{girc.ERR_NOSUCHNICK, girc.ERR_NOSUCHCHANNEL, girc.ERR_CANNOTSENDTOCHAN} {
		h.Add(code, a.onSendError)
	}
	h.Add(girc.PRIVMSG, a.onPrivmsg)
	h.Add(girc.PONG, a.onPong)
	h.Add(girc.ERROR, a.onError)
}

// errNeedReggedNick is ERR_NEEDREGGEDNICK: the channel admits only users
// identified to services.
const errNeedReggedNick = "477"

func (a *Adapter) onWelcome(_ *girc.Client, e girc.Event) {
	a.mu.Lock()
	s := a.current()
	if s == nil {
		a.mu.Unlock()
		return
	}
	s.welcomed = true
	if len(e.Params) > 0 {
		s.nick = e.Params[0]
	}
	nick := s.nick
	s.refused = a.cfg.SASL.Mechanism != "" && !s.saslOK
	refused := s.refused
	a.notifyLocked()
	a.mu.Unlock()
	if refused {
		// Going on unauthenticated would run the bot under a nick the network
		// does not vouch for: fail closed, and try again later.
		a.log.Error("irc: SASL is configured but the server did not authenticate the bot (does it offer SASL?); disconnecting",
			"mechanism", a.cfg.SASL.Mechanism)
		a.client.Close()
		return
	}
	a.log.Info("irc: connected", "nick", nick)
	if ns := a.cfg.NickServ; ns.Password != "" {
		text := "IDENTIFY " + ns.Password.Reveal()
		if ns.Account != "" {
			text = "IDENTIFY " + ns.Account + " " + ns.Password.Reveal()
		}
		a.client.Send(&girc.Event{Command: girc.PRIVMSG, Params: []string{ns.Service, text}, Sensitive: true})
	}
}

// onRegistered runs once per connection, at the end of the MOTD (or, should
// the server send none, when girc declares the connection usable).
func (a *Adapter) onRegistered(_ *girc.Client, _ girc.Event) {
	a.mu.Lock()
	s := a.current()
	if s == nil || s.registered || !s.welcomed || s.refused {
		a.mu.Unlock()
		return
	}
	s.registered = true
	joins := s.unjoined()
	a.notifyLocked()
	a.mu.Unlock()
	for _, c := range joins {
		a.sendJoin(c.name, c.key)
	}
	go a.maintain(s)
}

// unjoined lists the channels the bot is not in; a.mu must be held.
func (s *session) unjoined() []channel {
	var out []channel
	for _, c := range s.channels {
		if !c.joined {
			out = append(out, *c)
		}
	}
	return out
}

func (a *Adapter) sendJoin(name, key string) {
	params := []string{name}
	if key != "" {
		params = append(params, key)
	}
	a.client.Send(&girc.Event{Command: girc.JOIN, Params: params, Sensitive: key != ""})
}

// maintain rejoins the channels the bot is not in and reclaims its nick,
// every rejoin_interval, until the connection ends.
func (a *Adapter) maintain(s *session) {
	for {
		select {
		case <-a.clock.After(a.cfg.RejoinInterval):
		case <-s.done:
			return
		}
		a.mu.Lock()
		joins := s.unjoined()
		reclaim := fold(s.nick) != fold(a.cfg.Nick)
		a.mu.Unlock()
		for _, c := range joins {
			a.log.Info("irc: joining again", "channel", c.name)
			a.sendJoin(c.name, c.key)
		}
		if reclaim {
			a.client.Cmd.Nick(a.cfg.Nick)
		}
	}
}

func (a *Adapter) onSASLSuccess(_ *girc.Client, _ girc.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.current(); s != nil {
		s.saslOK = true
	}
}

func (a *Adapter) onLoggedIn(_ *girc.Client, e girc.Event) {
	if len(e.Params) > 2 {
		a.log.Info("irc: logged in to services", "account", e.Params[2])
	}
}

func (a *Adapter) onSASLFailure(_ *girc.Client, e girc.Event) {
	a.log.Error("irc: SASL authentication failed; disconnecting", "mechanism", a.cfg.SASL.Mechanism, "reply", e.Command, "reason", e.Last())
}

func (a *Adapter) isSelf(s *session, src *girc.Source) bool {
	return src != nil && fold(src.Name) == fold(s.nick)
}

func (a *Adapter) onJoin(_ *girc.Client, e girc.Event) {
	if len(e.Params) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.current()
	if s == nil || !a.isSelf(s, e.Source) {
		return
	}
	src := *e.Source
	s.self = &src
	c := s.channel(e.Params[0])
	c.joined, c.failure = true, ""
	a.notifyLocked()
	a.log.Info("irc: joined", "channel", c.name)
}

// channel returns the channel named name, adding it; a.mu must be held.
func (s *session) channel(name string) *channel {
	c := s.channels[fold(name)]
	if c == nil {
		c = &channel{name: name}
		s.channels[fold(name)] = c
	}
	return c
}

func (a *Adapter) onPart(_ *girc.Client, e girc.Event) {
	if len(e.Params) == 0 {
		return
	}
	a.left(e.Source, e.Params[0], "")
}

func (a *Adapter) onKick(_ *girc.Client, e girc.Event) {
	if len(e.Params) < 2 {
		return
	}
	a.mu.Lock()
	s := a.current()
	self := s != nil && fold(e.Params[1]) == fold(s.nick)
	a.mu.Unlock()
	if self {
		by := ""
		if e.Source != nil {
			by = e.Source.Name
		}
		a.left(&girc.Source{Name: e.Params[1]}, e.Params[0], "kicked by "+by+": "+e.Last())
	}
}

// left records that the bot left channel (a PART or a KICK).
func (a *Adapter) left(who *girc.Source, name, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.current()
	if s == nil || !a.isSelf(s, who) {
		return
	}
	if c := s.channels[fold(name)]; c != nil {
		c.joined = false
	}
	a.notifyLocked()
	if why != "" {
		a.log.Warn("irc: left channel", "channel", name, "reason", why, "rejoin_in", a.cfg.RejoinInterval.String())
	}
}

func (a *Adapter) onNick(_ *girc.Client, e girc.Event) {
	if len(e.Params) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.current()
	if s == nil || !a.isSelf(s, e.Source) {
		return
	}
	s.nick = e.Params[0]
	if s.self != nil {
		s.self.Name = s.nick
	}
	a.notifyLocked()
	a.log.Info("irc: nick changed", "nick", s.nick)
}

// nextNick is girc's nick collision handler: during registration it picks
// the next alternate nick; afterwards (a failed reclaim) it keeps the nick.
func (a *Adapter) nextNick(string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.current()
	if s == nil || s.welcomed {
		return ""
	}
	s.nickTries++
	n := a.candidate(s.nickTries)
	if n == "" {
		a.log.Error("irc: every alternate nick is taken", "nick", a.cfg.Nick)
		return ""
	}
	a.log.Warn("irc: nick taken, trying another", "nick", n)
	s.nick = n
	return n
}

// candidate is the try-th nick to try after Nick: the alternates, then Nick
// cut to 7 characters followed by 1 to 99 (which fits in 9 characters).
func (a *Adapter) candidate(try int) string {
	if try <= len(a.cfg.AltNicks) {
		return a.cfg.AltNicks[try-1]
	}
	n := try - len(a.cfg.AltNicks)
	if n > 99 {
		return ""
	}
	base := a.cfg.Nick
	if len(base) > 7 {
		base = base[:7]
	}
	return base + strconv.Itoa(n)
}

// onBadNick handles ERR_ERRONEUSNICKNAME (a nick too long or refused)
// during registration like a collision; girc handles only collisions.
func (a *Adapter) onBadNick(c *girc.Client, _ girc.Event) {
	if n := a.nextNick(""); n != "" {
		c.Cmd.Nick(n)
	}
}

func (a *Adapter) onJoinError(_ *girc.Client, e girc.Event) {
	if len(e.Params) < 2 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.current()
	if s == nil {
		return
	}
	c := s.channels[fold(e.Params[1])]
	if c == nil {
		return
	}
	if c.failure != e.Last() {
		a.log.Warn("irc: cannot join", "channel", c.name, "reply", e.Command, "reason", e.Last(), "retry_in", a.cfg.RejoinInterval.String())
	}
	c.failure = e.Last()
	a.notifyLocked()
}

// onSendError records an error reply to a post waiting for its
// confirmation; ERR_NOSUCHCHANNEL may also answer a JOIN.
func (a *Adapter) onSendError(c *girc.Client, e girc.Event) {
	if len(e.Params) < 2 {
		return
	}
	target := fold(e.Params[1])
	a.mu.Lock()
	s := a.current()
	if s != nil && s.waiting[target] > 0 {
		s.failures[target] = &sendError{code: e.Command, target: e.Params[1], reason: e.Last()}
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	if e.Command == girc.ERR_NOSUCHCHANNEL {
		a.onJoinError(c, e)
	}
}

func (a *Adapter) onPong(_ *girc.Client, e girc.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.current()
	if s == nil {
		return
	}
	if ch, ok := s.pongs[e.Last()]; ok {
		close(ch)
		delete(s.pongs, e.Last())
	}
}

func (a *Adapter) onError(_ *girc.Client, e girc.Event) {
	a.log.Warn("irc: the server closed the link", "reason", e.Last())
}

// isChannel reports whether target names a channel rather than a nick.
func isChannel(target string) bool {
	return target != "" && strings.IndexByte("#&+!", target[0]) >= 0
}
