package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/opsbot/opsbot/event"
)

// Event tags the watcher emits.
const (
	TagDown    = "fleet.instance.down"
	TagUp      = "fleet.instance.up"
	TagVersion = "fleet.instance.version"
)

// Emit hands events on (the bot's event log).
type Emit func(ctx context.Context, events ...event.Event) error

// Watcher checks the instances on an interval and turns changes into
// events: down after DownAfter consecutive failed checks, up again after
// UpAfter good ones (so a flapping instance is not announced on every
// check), and a new version. Changes are claimed in the store, so several
// replicas announce each once.
type Watcher struct {
	fleet *Fleet
	emit  Emit
	log   *slog.Logger

	mu         sync.Mutex
	fails, oks map[string]int
	rounds     int
	// afterRound, when set, is called after each round (tests).
	afterRound func(rounds int)
}

// NewWatcher returns a watcher of f's instances.
func NewWatcher(f *Fleet, emit Emit) *Watcher {
	return &Watcher{fleet: f, emit: emit, log: f.log, fails: map[string]int{}, oks: map[string]int{}}
}

// AfterRound sets a function called after each round, with the number of
// rounds so far.
func (w *Watcher) AfterRound(fn func(rounds int)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.afterRound = fn
}

// Run checks at once, then every interval of the fleet's clock, until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	for {
		next := w.fleet.clock.After(w.fleet.cfg.Interval) // intervals run from round start to round start
		if err := w.Round(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("fleet health round", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-next:
		}
	}
}

// Round checks every instance that has a health URL once and announces
// what changed.
func (w *Watcher) Round(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() {
		w.rounds++
		if w.afterRound != nil {
			w.afterRound(w.rounds)
		}
	}()
	var ins []Instance
	for _, in := range w.fleet.cfg.List {
		if in.Health != "" {
			ins = append(ins, in)
		}
	}
	if len(ins) == 0 {
		return nil
	}
	sts := w.fleet.checker.CheckAll(ctx, ins)
	known, err := w.fleet.store.Announcements(ctx)
	if err != nil {
		return err
	}
	var events []event.Event
	// undo moves the claimed changes back when they cannot be announced,
	// so the next round claims and announces them again.
	var undo []func()
	fail := func(err error) error {
		for _, u := range undo {
			u()
		}
		return err
	}
	now := w.fleet.clock.Now()
	st := w.fleet.store
	back := context.WithoutCancel(ctx)
	for i, in := range ins {
		s := sts[i]
		if s.OK() {
			w.fails[in.Name] = 0
			w.oks[in.Name]++
			if w.oks[in.Name] >= w.fleet.cfg.UpAfter {
				moved, err := st.Transition(ctx, in.Name, []State{Down}, Up, s.Detail, now)
				if err != nil {
					return fail(err)
				}
				if moved {
					events = append(events, w.event(ctx, in, s, TagUp))
					prev := known[in.Name].Detail
					undo = append(undo, func() { _, _ = st.Transition(back, in.Name, []State{Up}, Down, prev, now) })
				} else if _, err := st.Transition(ctx, in.Name, []State{Unknown}, Up, s.Detail, now); err != nil {
					return fail(err) // first sight: recorded, not announced
				}
			}
			if old := known[in.Name].Version; s.Version != "" && s.Version != old {
				moved, err := st.SetVersion(ctx, in.Name, old, s.Version, now)
				if err != nil {
					return fail(err)
				}
				if moved && old != "" {
					e := w.event(ctx, in, s, TagVersion)
					e.Fields = map[string]string{"from": old, "to": s.Version}
					events = append(events, e)
					undo = append(undo, func() { _, _ = st.SetVersion(back, in.Name, s.Version, old, now) })
				}
			}
			continue
		}
		w.oks[in.Name] = 0
		w.fails[in.Name]++
		if w.fails[in.Name] >= w.fleet.cfg.DownAfter {
			prev := known[in.Name].State
			if prev == "" {
				prev = Unknown
			}
			moved, err := st.Transition(ctx, in.Name, []State{Unknown, Up}, Down, s.Detail, now)
			if err != nil {
				return fail(err)
			}
			if moved {
				events = append(events, w.event(ctx, in, s, TagDown))
				undo = append(undo, func() { _, _ = st.Transition(back, in.Name, []State{Down}, prev, "", now) })
			}
		}
	}
	if len(events) > 0 && w.emit != nil {
		if err := w.emit(ctx, events...); err != nil {
			return fail(fmt.Errorf("emit %d fleet events (they are announced on the next round): %w", len(events), err))
		}
	}
	return nil
}

// Rounds is how many rounds have run.
func (w *Watcher) Rounds() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rounds
}

func (w *Watcher) event(ctx context.Context, in Instance, s Status, tag string) event.Event {
	active, err := w.fleet.IsActive(ctx, in)
	act := "no"
	switch {
	case err != nil:
		act = "unknown"
	case active:
		act = "yes"
	}
	e := event.Event{
		Tag: tag, Source: "fleet", Time: w.fleet.clock.Now(),
		Labels: map[string]string{"instance": in.Name, "active": act},
	}
	for k, v := range map[string]string{"app": in.App, "env": in.Env, "role": in.Role} {
		if v != "" {
			e.Labels[k] = v
		}
	}
	switch tag {
	case TagDown:
		e.Severity, e.Status, e.Fingerprint = event.Warning, event.Firing, "fleet.instance/"+in.Name
		if active {
			e.Severity = event.Critical
		}
		e.Title = fmt.Sprintf("%s is down", in.Name)
		if active {
			e.Title += " (ACTIVE, serving traffic)"
		}
		e.Text = fmt.Sprintf("%s failed %d health checks in a row: %s", in.Name, w.fails[in.Name], s.Detail)
	case TagUp:
		e.Severity, e.Status, e.Fingerprint = event.Info, event.Resolved, "fleet.instance/"+in.Name
		e.Title = fmt.Sprintf("%s is up again", in.Name)
		if s.Version != "" {
			e.Text = "version " + s.Version
		}
	case TagVersion:
		e.Severity, e.Fingerprint = event.Info, "fleet.version/"+in.Name+"/"+s.Version
		e.Title = fmt.Sprintf("%s now runs %s", in.Name, s.Version)
	}
	return e
}
