// Package scripts is config-defined commands: the `commands` section turns
// existing tools into chat commands. Each command has a grammar and runs a
// program (an argv template, never a shell) or sends an HTTP request, in the
// foreground (the reply is the result) or as a background job (started at
// once, output streamed into a thread, finished later), with a timeout that
// kills the whole process group, a concurrency limit, a permission and a
// confirmation policy. See docs/commands.md.
package scripts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/jobs"
	"github.com/opsbot/opsbot/store"
)

// Module is the scripts module.
type Module struct {
	cfg Commands

	b      *bot.Bot
	runner *jobs.Runner
	st     store.Store
	log    *slog.Logger
	clock  clock.Clock
	client *http.Client
	cmds   map[string]*cmdDef // by name
}

var (
	_ bot.Module       = (*Module)(nil)
	_ bot.Configurable = (*Module)(nil)
)

// New returns the scripts module; its commands come from the config.
func New() *Module { return &Module{client: &http.Client{}} }

// NewWithCommands returns the module with commands set in code (tests, and
// programs that embed opsbot).
func NewWithCommands(cmds Commands) *Module {
	m := New()
	m.cfg = cmds
	return m
}

// Name is "scripts".
func (*Module) Name() string { return "scripts" }

// ConfigSection claims `commands`.
func (m *Module) ConfigSection() (string, any) { return "commands", &m.cfg }

// cmdDef is a configured command ready to run.
type cmdDef struct {
	Command
	kind    string
	argv    []template
	url     template
	body    template
	headers map[string]template

	mu      sync.Mutex
	pending int // runs allowed whose job record does not exist yet
}

// KindPrefix starts the job kind of every config-defined command.
const KindPrefix = "scripts."

// Provision declares a command and a job kind per configured command.
func (m *Module) Provision(h *bot.Host) error {
	if len(m.cfg) == 0 {
		return nil
	}
	if err := m.cfg.Validate(); err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	m.b, m.runner, m.st, m.log, m.clock = h.Bot(), h.Jobs(), h.Store(), h.Logger(), h.Clock()
	if m.runner == nil {
		return fmt.Errorf("commands: %w", bot.ErrNoJobs)
	}
	m.cmds = map[string]*cmdDef{}
	for _, c := range m.cfg {
		d := newDef(c.withDefaults())
		m.cmds[d.Name] = d
		// The app registers every config.Secret with the redactor; this
		// covers a module built in code too.
		var secrets []string
		for _, v := range d.Env {
			secrets = append(secrets, v.Reveal())
		}
		if d.HTTP != nil {
			for _, v := range d.HTTP.Headers {
				secrets = append(secrets, v.Reveal())
			}
		}
		m.b.Redactor().Add(secrets...)
		if err := h.Job(jobs.Kind{Name: d.kind, Resumable: d.Background && d.Resumable, Run: m.runJob(d), Abandoned: m.abandoned(d)}); err != nil {
			return err
		}
		help := d.Help
		if help == "" {
			help = defaultHelp(d)
		}
		if err := h.Command(command.Spec{
			Name: d.Name, Grammar: d.Grammar, Help: help, Permission: d.Permission,
			SideEffects: *d.SideEffects, Confirm: d.Confirm.policy(), Secret: d.Secret, Run: m.handle(d),
		}); err != nil {
			return fmt.Errorf("commands: %s: %w", d.Name, err)
		}
	}
	return nil
}

func newDef(c Command) *cmdDef {
	d := &cmdDef{Command: c, kind: KindPrefix + c.Name}
	for _, a := range c.Argv {
		d.argv = append(d.argv, parseTemplate(a))
	}
	if c.HTTP != nil {
		d.url = parseTemplate(c.HTTP.URL)
		d.body = parseTemplate(c.HTTP.Body)
		d.headers = map[string]template{}
		for k, v := range c.HTTP.Headers {
			d.headers[k] = parseTemplate(v.Reveal())
		}
	}
	return d
}

func defaultHelp(d *cmdDef) string {
	if d.HTTP != nil {
		return fmt.Sprintf("sends %s %s", d.HTTP.method(), redactURL(d.HTTP.URL))
	}
	return "runs " + d.Argv[0]
}

// payload is what a job record keeps for the run.
type payload struct {
	Origin   chat.Room `json:"origin"`              // where the command was given
	InThread bool      `json:"in_thread,omitempty"` // it was given in a thread
}

// invocation is a run resolved from its arguments.
type invocation struct {
	proc *process
	req  *request
}

// values are the placeholders' values for a run.
func values(args map[string]string, user string, origin chat.Room, jobID int64) map[string]string {
	vals := make(map[string]string, len(args)+3)
	for k, v := range args {
		vals[k] = v
	}
	vals["user"] = user
	vals["room"] = origin.Name
	if vals["room"] == "" {
		vals["room"] = origin.ID
	}
	if jobID != 0 {
		vals["job"] = strconv.FormatInt(jobID, 10)
	}
	return vals
}

// baseEnv is the part of opsbot's environment a command inherits: not the
// rest, which may hold opsbot's own tokens.
var baseEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"}

func (m *Module) invocation(d *cmdDef, args map[string]string, user string, origin chat.Room, jobID int64) (invocation, error) {
	vals := values(args, user, origin, jobID)
	if d.HTTP == nil {
		env := make([]string, 0, len(baseEnv)+len(args)+len(d.Env)+4)
		for _, k := range baseEnv {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
		env = append(env, "OPSBOT_COMMAND="+d.Name, "OPSBOT_USER="+vals["user"], "OPSBOT_ROOM="+vals["room"], "OPSBOT_JOB="+vals["job"])
		names := make([]string, 0, len(args))
		for k := range args {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			env = append(env, "OPSBOT_ARG_"+envName(k)+"="+args[k])
		}
		keys := make([]string, 0, len(d.Env))
		for k := range d.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env = append(env, k+"="+d.Env[k].Reveal())
		}
		return invocation{proc: &process{
			argv: expandArgv(d.argv, vals), env: env, dir: d.Dir,
			timeout: d.Timeout, grace: d.KillGrace, clock: m.clock,
		}}, nil
	}
	hdr := http.Header{}
	for k, t := range d.headers {
		v := t.expand(vals, nil)
		if strings.ContainsAny(v, "\r\n\x00") {
			return invocation{}, fmt.Errorf("header %s: a value may not contain line breaks", k)
		}
		hdr.Set(k, v)
	}
	body := ""
	if len(d.body) > 0 {
		ct := d.HTTP.contentType()
		body = d.body.expand(vals, bodyEscaper(ct))
		if hdr.Get("Content-Type") == "" {
			hdr.Set("Content-Type", ct)
		}
	}
	return invocation{req: &request{
		method: d.HTTP.method(), url: expandURL(d.url, vals), headers: hdr, body: body,
		timeout: d.Timeout, clock: m.clock, client: m.client,
	}}, nil
}

// envName turns an argument name into an environment variable's suffix.
func envName(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// describe says what a dry run would do.
func (inv invocation) describe(d *cmdDef) string {
	var b strings.Builder
	if inv.proc != nil {
		argv, _ := json.Marshal(inv.proc.argv)
		dir := inv.proc.dir
		if dir == "" {
			dir = "opsbot's working directory"
		}
		fmt.Fprintf(&b, "dry run: `%s` would run, in %s, with a %s timeout:\n```\n%s\n```", d.Name, dir, jobs.FormatDuration(d.Timeout), argv)
		if len(d.Env) > 0 {
			keys := make([]string, 0, len(d.Env))
			for k := range d.Env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintf(&b, "\nenvironment: %s (values hidden)", strings.Join(keys, ", "))
		}
	} else {
		q := inv.req
		fmt.Fprintf(&b, "dry run: `%s` would send, with a %s timeout:\n```\n%s %s", d.Name, jobs.FormatDuration(d.Timeout), q.method, q.url)
		keys := make([]string, 0, len(q.headers))
		for k := range q.headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := "[hidden]"
			if k == "Content-Type" {
				v = q.headers.Get(k)
			}
			fmt.Fprintf(&b, "\n%s: %s", k, v)
		}
		if q.body != "" {
			fmt.Fprintf(&b, "\n\n%s", q.body)
		}
		b.WriteString("\n```")
	}
	if d.Background {
		b.WriteString("\nas a background job")
	}
	return b.String()
}

// target is where a call's result goes.
func (m *Module) target(d *cmdDef, c *command.Call) (chat.Room, chat.Ref) {
	switch d.Reply.Mode {
	case "other":
		return m.resolveRoom(d.Reply.Room, c.Msg.Room), chat.Ref{}
	case "thread":
		if !c.Msg.Thread.IsZero() {
			return c.Msg.Room, c.Msg.Thread
		}
		if d.Background || c.Msg.ID == "" {
			return c.Msg.Room, chat.Ref{} // the job opens its thread
		}
		return c.Msg.Room, chat.Ref{Room: c.Msg.Room, ID: c.Msg.ID}
	}
	return c.Msg.Room, c.Msg.Thread
}

// resolveRoom reads a configured room: "adapter:ID" naming one of the bot's
// chats, else a room of the chat the command came from.
func (m *Module) resolveRoom(name string, from chat.Room) chat.Room {
	if adapter, id, ok := strings.Cut(name, ":"); ok && m.b != nil {
		if _, known := m.b.Sender().Adapter(adapter); known {
			return chat.Room{Adapter: adapter, ID: id, Name: id}
		}
	}
	return chat.Room{Adapter: from.Adapter, ID: name, Name: name}
}

// acquire checks the command's concurrency limit. It returns the running
// jobs when the command is busy, else a release to call once the run's job
// record exists.
func (m *Module) acquire(ctx context.Context, d *cmdDef) (release func(), busy []int64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	active, err := m.st.ListJobs(ctx, store.JobFilter{States: []string{jobs.StateQueued, jobs.StateRunning}, Limit: 1000})
	if err != nil {
		return nil, nil, fmt.Errorf("check running jobs: %w", err)
	}
	for _, j := range active {
		if j.Kind == d.kind {
			busy = append(busy, j.ID)
		}
	}
	if len(busy)+d.pending >= d.Concurrency {
		sort.Slice(busy, func(i, j int) bool { return busy[i] < busy[j] })
		return nil, busy, nil
	}
	d.pending++
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			d.pending--
			d.mu.Unlock()
		})
	}, nil, nil
}

// reported is a failure the handler already told the user about: the bot
// records it in the audit log without replying again.
type reported struct {
	msg     string
	timeout bool
}

func (e reported) Error() string { return e.msg }

func (e reported) Is(target error) bool {
	return target == bot.ErrReported || e.timeout && target == context.DeadlineExceeded
}

// callState passes a foreground call's release and result between the
// handler and the job's Run.
type callState struct {
	release func()
	result  *result
}

type callStateKey struct{}

// handle runs a call of d.
func (m *Module) handle(d *cmdDef) command.Handler {
	return func(ctx context.Context, c *command.Call) error {
		inv, err := m.invocation(d, c.Args, c.User.Name, c.Msg.Room, 0)
		if err != nil {
			return err
		}
		if c.DryRun {
			_, err := c.Reply(ctx, chat.Post{Text: inv.describe(d)})
			return err
		}
		release, busy, err := m.acquire(ctx, d)
		if err != nil {
			return err
		}
		if release == nil {
			ids := make([]string, len(busy))
			for i, id := range busy {
				ids[i] = "#" + strconv.FormatInt(id, 10)
			}
			msg := fmt.Sprintf("`%s` is already running", d.Name)
			if len(ids) > 0 {
				msg += " (job " + strings.Join(ids, ", ") + ")"
			}
			msg += "; try again when it has finished."
			if _, err := c.Reply(ctx, chat.Post{Text: msg, Severity: chat.SeverityWarning}); err != nil {
				return err
			}
			return reported{msg: "already running"}
		}
		defer release()
		room, thread := m.target(d, c)
		pl, _ := json.Marshal(payload{Origin: c.Msg.Room, InThread: !c.Msg.Thread.IsZero()}) // plain fields: cannot fail
		j := store.Job{Command: c.Text, Args: c.Args, UserName: c.User.Name, Room: jobs.RoomKey(room), Payload: string(pl)}
		if !thread.IsZero() {
			ref, _ := json.Marshal(thread) // plain fields: cannot fail
			j.ThreadRef = string(ref)
		}

		if d.Background {
			j, err := m.runner.Enqueue(ctx, d.kind, j)
			release()
			if err != nil {
				return err
			}
			if d.Reply.Mode == "other" && jobs.RoomKey(room) != jobs.RoomKey(c.Msg.Room) {
				return c.Replyf(ctx, "started job #%d: `%s`; its output goes to %s.", j.ID, c.Text, roomName(room))
			}
			return nil // the job posts "started" in its room as it starts
		}

		cs := &callState{release: release}
		final, runErr := m.runner.RunForeground(context.WithValue(ctx, callStateKey{}, cs), d.kind, j)
		release()
		if cs.result == nil {
			if runErr == nil {
				runErr = errors.New("the command did not run")
			}
			return runErr
		}
		if cs.result.shutdown {
			// The runner tells the room the run was interrupted.
			return reported{msg: "interrupted: opsbot is stopping"}
		}
		post := cs.result.post(final.ID, "`"+c.Text+"`", d, false)
		switch {
		case d.Reply.Mode == "other" && jobs.RoomKey(room) != jobs.RoomKey(c.Msg.Room):
			if _, err := c.PostTo(ctx, room, post); err != nil {
				return err
			}
			if err := c.Replyf(ctx, "`%s` %s; the output is in %s.", c.Text, cs.result.verdict(d), roomName(room)); err != nil {
				return err
			}
		case !thread.IsZero() && thread != c.Msg.Thread:
			if _, err := c.PostInThread(ctx, thread, post); err != nil {
				return err
			}
		default:
			if _, err := c.Reply(ctx, post); err != nil {
				return err
			}
		}
		return cs.result.err(d)
	}
}

func roomName(r chat.Room) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}
