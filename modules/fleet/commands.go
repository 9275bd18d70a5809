package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	fl "github.com/opsbot/opsbot/fleet"
)

// commands declares the chat commands.
func (m *Module) commands(h *bot.Host) error {
	cfg := m.fleet.Config()
	for i, phrase := range append([]string{cfg.Platform.Command}, cfg.Platform.Aliases...) {
		help := "the state of every instance (or of one environment): up/down, version, active, response time"
		if i > 0 {
			help = "the same as " + cfg.Platform.Command
		}
		if err := h.Command(command.Spec{Name: strings.ToLower(phrase), Grammar: strings.ToLower(phrase) + " [{env}]", Help: help, Run: m.platform}); err != nil {
			return err
		}
	}
	confirmSwitch := command.Policy{Mode: command.ConfirmWhen, When: func(args command.Args) bool {
		a := cfg.Apps[args["app"]]
		return a != nil && a.Confirm
	}}
	specs := []command.Spec{
		{Name: "health", Grammar: "health {instance:instance...}", Help: "an instance's full health answer, summarised", Run: m.health},
		{Name: "tasks", Grammar: "tasks {instance:instance...}", Help: "what is running on an instance", Run: m.tasks},
		{Name: "show tasks", Grammar: "show tasks {instance:instance...}", Help: "the same as tasks", Run: m.tasks},
		{Name: "restart", Grammar: "restart {instance:instance...}", Help: "restart an instance that takes no traffic",
			Permission: PermRestart, SideEffects: true, Run: m.restart},
		{Name: "force restart", Grammar: "force restart {instance:instance...}", Help: "restart an instance even if it takes traffic (asks first)",
			Permission: PermForceRestart, SideEffects: true, Confirm: command.Policy{Mode: command.ConfirmAlways, Describe: m.describeRestart}, Run: m.forceRestart},
		{Name: "switch", Grammar: "switch {app:fleet-app} [to {colour}]", Help: "move a blue-green app's traffic to a healthy colour",
			Permission: PermSwitch, SideEffects: true, Confirm: confirmSwitch, Run: m.switchTo},
		{Name: "switch back", Grammar: "switch back {app:fleet-app}", Help: "move an app's traffic back to the colour before the last switch",
			Permission: PermSwitch, SideEffects: true, Confirm: confirmSwitch, Run: m.switchBack},
	}
	for _, s := range specs {
		if err := h.Command(s); err != nil {
			return err
		}
	}
	for i, phrase := range append([]string{cfg.Panic.Command}, cfg.Panic.Aliases...) {
		help := "the panic button: post the platform's state to the responders' rooms and page them"
		if i > 0 {
			help = "the same as " + cfg.Panic.Command
		}
		if err := h.Command(command.Spec{Name: strings.ToLower(phrase), Grammar: strings.ToLower(phrase) + " [{reason...}]", Help: help,
			Permission: PermPanic, SideEffects: true, Run: m.panic}); err != nil {
			return err
		}
	}
	return nil
}

// refuse replies with why a command did nothing, and fails the call
// without the bot adding its own error reply; the audit log records the
// reason ("refused: Not restarting blue: blue is ACTIVE…").
func refuse(ctx context.Context, c *command.Call, text string) error {
	if _, err := c.Reply(ctx, chat.Post{Text: text, Severity: chat.SeverityWarning}); err != nil {
		return err
	}
	return quiet(errors.New("refused: " + firstSentence(strings.NewReplacer("*", "", "`", "").Replace(text))))
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// reported is an error the command has already told the user about: the
// bot records it (and its outcome: an error, or a timeout) without
// replying again.
type reported struct{ err error }

func (e reported) Error() string        { return e.err.Error() }
func (e reported) Unwrap() error        { return e.err }
func (e reported) Is(target error) bool { return target == bot.ErrReported }

func quiet(err error) error { return reported{err} }

func (m *Module) platform(ctx context.Context, c *command.Call) error {
	r, err := m.fleet.Platform(ctx, c.Args["env"])
	if errors.Is(err, fl.ErrUnknownEnv) {
		return refuse(ctx, c, err.Error())
	}
	if err != nil {
		return err
	}
	_, err = c.Reply(ctx, renderPlatform(r))
	return err
}

func (m *Module) instance(c *command.Call) (fl.Instance, error) {
	in, ok := m.fleet.Instance(c.Args["instance"])
	if !ok {
		return in, fmt.Errorf("%q is not a known instance", c.Args["instance"])
	}
	return in, nil
}

func (m *Module) health(ctx context.Context, c *command.Call) error {
	in, err := m.instance(c)
	if err != nil {
		return err
	}
	st := m.fleet.Check(ctx, in)
	active, aerr := m.fleet.IsActive(ctx, in)
	_, err = c.Reply(ctx, renderHealth(in, st, active, aerr))
	return err
}

func (m *Module) tasks(ctx context.Context, c *command.Call) error {
	in, err := m.instance(c)
	if err != nil {
		return err
	}
	tasks, text, err := m.fleet.Tasks(ctx, in)
	if err != nil {
		return err
	}
	_, err = c.Reply(ctx, renderTasks(in, tasks, text))
	return err
}

// describeRestart names who a forced restart affects, above its confirmation.
func (m *Module) describeRestart(ctx context.Context, args command.Args) string {
	in, ok := m.fleet.Instance(args["instance"])
	if !ok {
		return ""
	}
	imp, err := m.impact(ctx, in)
	if err != nil {
		return fmt.Sprintf("⚠ I cannot tell whether %s takes traffic (%v).", in.Name, err)
	}
	if imp == "" {
		return in.Name + " takes no traffic."
	}
	return "⚠ " + imp + "."
}

// impact says who a restart of in affects: "" when it takes no traffic.
func (m *Module) impact(ctx context.Context, in fl.Instance) (string, error) {
	active, err := m.fleet.IsActive(ctx, in)
	if err != nil {
		return "", err
	}
	if !active {
		return "", nil
	}
	what := "serving traffic"
	if in.App != "" {
		what = "serving " + in.App + "'s traffic"
	}
	if in.Env != "" {
		what += " in " + in.Env
	}
	return fmt.Sprintf("%s is ACTIVE and %s", in.Name, what), nil
}

func (m *Module) restart(ctx context.Context, c *command.Call) error {
	in, err := m.instance(c)
	if err != nil {
		return err
	}
	imp, err := m.impact(ctx, in)
	if err != nil {
		return refuse(ctx, c, fmt.Sprintf("Not restarting *%s*: I cannot tell whether it takes traffic (%v). If you are sure, `force restart %s` (needs `%s` and asks for confirmation).",
			in.Name, err, in.Name, PermForceRestart))
	}
	if imp != "" {
		force := fmt.Sprintf("`force restart %s` (needs `%s` and asks for confirmation)", in.Name, PermForceRestart)
		how := " If you must, " + force + "."
		if _, ok := m.fleet.App(in.App); ok && in.Role != "" {
			if other, err := m.fleet.Other(ctx, in.App); err == nil {
				how = fmt.Sprintf(" Move the traffic first with `switch %s to %s`, then restart it; or, if you must, %s.", in.App, other, force)
			}
		}
		return refuse(ctx, c, fmt.Sprintf("Not restarting *%s*: %s, and `restart` only restarts instances that take no traffic.%s", in.Name, imp, how))
	}
	return m.runRestart(ctx, c, in, "")
}

func (m *Module) forceRestart(ctx context.Context, c *command.Call) error {
	in, err := m.instance(c)
	if err != nil {
		return err
	}
	imp, err := m.impact(ctx, in)
	if err != nil {
		imp = fmt.Sprintf("whether %s takes traffic is unknown (%v)", in.Name, err)
	}
	return m.runRestart(ctx, c, in, imp)
}

func (m *Module) runRestart(ctx context.Context, c *command.Call, in fl.Instance, impact string) error {
	if in.Restart == nil {
		return refuse(ctx, c, fmt.Sprintf("*%s* has no restart action configured (instances.list[].restart).", in.Name))
	}
	what := m.fleet.RestartDescription(in, c.User.Name)
	intro := fmt.Sprintf("Restarting *%s* (`%s`)…", in.Name, what)
	if impact != "" {
		intro = fmt.Sprintf("Force-restarting *%s* (`%s`): %s.", in.Name, what, impact)
	}
	if c.DryRun {
		return c.Replyf(ctx, "[dry run] would run `%s` to restart %s", what, in.Name)
	}
	if _, err := c.Reply(ctx, chat.Post{Text: intro}); err != nil {
		return err
	}
	res, err := m.fleet.Restart(ctx, in, c.User.Name)
	post := chat.Post{Text: fmt.Sprintf("*%s* restarted in %s.", in.Name, round(res.Duration)), Severity: chat.SeveritySuccess}
	if err != nil {
		post = chat.Post{Text: fmt.Sprintf("Restarting *%s* failed: %v", in.Name, err), Severity: chat.SeverityCritical}
	}
	if res.Output != "" {
		post.Text += "\n```\n" + res.Output + "\n```"
	}
	if _, rerr := c.Reply(ctx, post); rerr != nil {
		return rerr
	}
	if err != nil {
		return quiet(err)
	}
	return nil
}

func (m *Module) switchTo(ctx context.Context, c *command.Call) error {
	app, colour := c.Args["app"], c.Args["colour"]
	if colour == "" {
		other, err := m.fleet.Other(ctx, app)
		if err != nil {
			return refuse(ctx, c, "Not switching: "+strings.TrimPrefix(err.Error(), fl.ErrRefused.Error()+": "))
		}
		colour = other
	}
	if c.DryRun {
		return c.Replyf(ctx, "[dry run] would health-check %s's %s instances and switch %s to %s", app, colour, app, colour)
	}
	sw, err := m.fleet.SwitchTo(ctx, app, colour, c.User.Name)
	return m.reportSwitch(ctx, c, sw, err)
}

func (m *Module) switchBack(ctx context.Context, c *command.Call) error {
	if c.DryRun {
		return c.Replyf(ctx, "[dry run] would switch %s back to its previous colour", c.Args["app"])
	}
	sw, err := m.fleet.SwitchBack(ctx, c.Args["app"], c.User.Name)
	return m.reportSwitch(ctx, c, sw, err)
}

func (m *Module) reportSwitch(ctx context.Context, c *command.Call, sw fl.Switched, err error) error {
	switch {
	case errors.Is(err, fl.ErrAlreadyActive):
		return c.Replyf(ctx, "*%s* is already on %s; nothing to do.", sw.App, sw.To)
	case errors.Is(err, fl.ErrRefused):
		return refuse(ctx, c, "Not switching: "+strings.TrimPrefix(err.Error(), fl.ErrRefused.Error()+": "))
	}
	post := renderSwitch(sw, err)
	if _, rerr := c.Reply(ctx, post); rerr != nil {
		return rerr
	}
	if err != nil {
		return quiet(err)
	}
	return nil
}
