package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Switch errors a caller may tell apart.
var (
	// ErrAlreadyActive: the app already runs on that colour; nothing was done.
	ErrAlreadyActive = errors.New("already active")
	// ErrRefused: the switch was not attempted (unhealthy target, unknown
	// colour, another switch under way); the traffic did not move.
	ErrRefused = errors.New("switch refused")
	// ErrVerify: the switch ran but the check after it failed.
	ErrVerify = errors.New("switch not verified")
)

// Switched is the outcome of a switch.
type Switched struct {
	App, From, To string
	// Gate is the target's health before the switch, After its health after.
	Gate, After []Status
	Action      Result
	// Kept: opsbot only recorded the colour (the app has no switch action).
	Kept bool
	Took time.Duration
}

// SwitchTo moves app's traffic to colour: it checks that every instance of
// that colour is up (refusing otherwise), runs the app's switch action,
// records the change (so `switch back` knows the previous colour), and
// verifies: the source reads the new colour and the target is still up.
// by is who asked. The error says why when it was refused (ErrRefused),
// when there was nothing to do (ErrAlreadyActive) or when the check after
// the switch failed (ErrVerify).
func (f *Fleet) SwitchTo(ctx context.Context, app, colour, by string) (Switched, error) {
	start := time.Now()
	name, ok := f.App(app)
	if !ok {
		return Switched{App: app}, fmt.Errorf("%s: %w: %w (blue-green apps: %s)", app, ErrRefused, ErrNotBlueGreen, strings.Join(f.Apps(), ", "))
	}
	sw := Switched{App: name, To: strings.ToLower(strings.TrimSpace(colour))}
	roles := f.Roles(name)
	if !slices.Contains(roles, sw.To) {
		return sw, fmt.Errorf("%w: %q is not a colour of %s (colours: %s)", ErrRefused, colour, name, strings.Join(roles, ", "))
	}
	if !f.begin(name) {
		return sw, fmt.Errorf("%w: a switch of %s is already under way", ErrRefused, name)
	}
	defer f.end(name)

	from, err := f.ActiveColour(ctx, name)
	a := f.cfg.Apps[name]
	if err != nil {
		if a != nil && a.Active != nil {
			return sw, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		from = "" // opsbot keeps the colour and has none yet
	}
	sw.From = from
	if from == sw.To {
		return sw, fmt.Errorf("%s is already on %s: %w", name, sw.To, ErrAlreadyActive)
	}

	targets := f.instancesOf(name, sw.To)
	sw.Gate = f.checker.CheckAll(ctx, targets)
	if bad := notUp(sw.Gate); bad != "" {
		return sw, fmt.Errorf("%w: %s is not healthy, so %s stays on %s: %s", ErrRefused, sw.To, name, orNone(from), bad)
	}

	vars := Vars{"app": name, "colour": sw.To, "from": from, "user": by}
	if a != nil && a.Switch != nil {
		sw.Action, err = f.runner.Run(ctx, a.Switch, vars)
		if err != nil {
			f.log.Warn("fleet switch action failed", "app", name, "to", sw.To, "by", by, "err", err)
			return sw, fmt.Errorf("the switch of %s to %s failed: %w", name, sw.To, err)
		}
	} else {
		sw.Kept = true
	}
	if err := f.store.SetActive(context.WithoutCancel(ctx), Active{App: name, Colour: sw.To, Previous: from, ChangedBy: by, ChangedAt: f.clock.Now()}); err != nil {
		return sw, err
	}
	f.log.Info("fleet switch", "app", name, "from", from, "to", sw.To, "by", by)

	// Verify: the source now reads the new colour, and the new colour still answers.
	var problems []string
	if a != nil && a.Active != nil {
		now, err := f.ActiveColour(ctx, name)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case now != sw.To:
			problems = append(problems, fmt.Sprintf("the active colour still reads %s", now))
		}
	}
	sw.After = f.checker.CheckAll(ctx, targets)
	if bad := notUp(sw.After); bad != "" {
		problems = append(problems, bad)
	}
	sw.Took = time.Since(start)
	if len(problems) > 0 {
		return sw, fmt.Errorf("%w: %s was switched to %s, but %s", ErrVerify, name, sw.To, strings.Join(problems, "; "))
	}
	return sw, nil
}

// SwitchBack moves app's traffic back to the colour it had before the last
// switch opsbot made.
func (f *Fleet) SwitchBack(ctx context.Context, app, by string) (Switched, error) {
	name, ok := f.App(app)
	if !ok {
		return Switched{App: app}, fmt.Errorf("%s: %w: %w (blue-green apps: %s)", app, ErrRefused, ErrNotBlueGreen, strings.Join(f.Apps(), ", "))
	}
	rec, found, err := f.store.Active(ctx, name)
	if err != nil {
		return Switched{App: name}, err
	}
	if !found || rec.Previous == "" {
		return Switched{App: name}, fmt.Errorf("%w: opsbot has not switched %s yet, so there is no colour to go back to", ErrRefused, name)
	}
	return f.SwitchTo(ctx, name, rec.Previous, by)
}

// Other is the colour a two-colour app would switch to from its active one.
func (f *Fleet) Other(ctx context.Context, app string) (string, error) {
	name, ok := f.App(app)
	if !ok {
		return "", fmt.Errorf("%s: %w: %w (blue-green apps: %s)", app, ErrRefused, ErrNotBlueGreen, strings.Join(f.Apps(), ", "))
	}
	roles := f.Roles(name)
	if len(roles) != 2 {
		return "", fmt.Errorf("%w: %s has colours %s: say which, e.g. `switch %s to %s`", ErrRefused, name, strings.Join(roles, ", "), name, roles[0])
	}
	cur, err := f.ActiveColour(ctx, name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if cur == roles[0] {
		return roles[1], nil
	}
	return roles[0], nil
}

func (f *Fleet) begin(app string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.switching[app] {
		return false
	}
	f.switching[app] = true
	return true
}

func (f *Fleet) end(app string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.switching, app)
}

// instancesOf are an app's instances of one role.
func (f *Fleet) instancesOf(app, role string) []Instance {
	var out []Instance
	for _, in := range f.cfg.List {
		if strings.EqualFold(in.App, app) && strings.EqualFold(in.Role, role) {
			out = append(out, in)
		}
	}
	return out
}

// notUp describes the statuses that are not up, "" when all are.
func notUp(sts []Status) string {
	var bad []string
	for _, s := range sts {
		if s.State != Up {
			d := string(s.State)
			if s.Detail != "" {
				d += " (" + s.Detail + ")"
			}
			bad = append(bad, s.Instance+" is "+d)
		}
	}
	return strings.Join(bad, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "its current colour"
	}
	return s
}
