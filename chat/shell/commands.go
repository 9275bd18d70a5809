package shell

import (
	"strings"
)

const help = `* shell commands (anything else is a message to the bot):
*   /room NAME    talk in room NAME (and leave the thread)
*   /thread ID    reply in the thread of post ID (posts show it as (#ID))
*   /thread       leave the thread
*   /user NAME    talk as user NAME
*   /quit         end the session (so does Ctrl-D)
*   //text        send "/text" to the bot`

// command runs a shell command line; it reports /quit.
func (a *Adapter) command(line string) (quit bool) {
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	var reply string
	switch name {
	case "/quit", "/exit":
		return true
	case "/help":
		reply = help
	case "/room":
		reply = a.setRoom(arg)
	case "/thread":
		reply = a.setThread(arg)
	case "/user":
		reply = a.setUser(arg)
	default:
		reply = "* unknown command " + name + "; /help lists them"
	}
	a.refreshPrompt()
	a.say(reply)
	return false
}

func (a *Adapter) setRoom(name string) string {
	if name == "" {
		return "* you are in room " + a.where()
	}
	if !isName(name) {
		return "* a room name is one word without [ ] or #"
	}
	a.mu.Lock()
	a.room, a.thread = name, ""
	a.mu.Unlock()
	return "* you are in room " + a.where()
}

func (a *Adapter) setThread(id string) string {
	id = strings.TrimPrefix(id, "#")
	if id == "" {
		a.mu.Lock()
		a.thread = ""
		a.mu.Unlock()
		return "* you are in room " + a.where()
	}
	a.mu.Lock()
	p, ok := a.places[id]
	if ok {
		a.room, a.thread = p.room, p.root
	}
	a.mu.Unlock()
	if !ok {
		return "* there is no post #" + id + "; posts show their number like (#12)"
	}
	return "* you are in thread " + a.where()
}

func (a *Adapter) setUser(name string) string {
	if name != "" && !isName(name) {
		return "* a user name is one word"
	}
	a.mu.Lock()
	if name != "" {
		a.user = name
	}
	user := a.user
	a.mu.Unlock()
	return "* you are " + user
}

// where names the current room and thread: "ops", "ops #12".
func (a *Adapter) where() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.thread != "" {
		return a.room + " #" + a.thread
	}
	return a.room
}

// prompt is the interactive prompt: "alice@ops> ", "alice@ops#12> ".
func (a *Adapter) prompt() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.user + "@" + a.room
	if a.thread != "" {
		p += "#" + a.thread
	}
	return p + "> "
}

func isName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t[]#")
}
