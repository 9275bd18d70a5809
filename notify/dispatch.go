package notify

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/event"
)

// DefaultBatch is how many events one step reads from the log.
const DefaultBatch = 200

// actionRetention is how long an action's claim is kept: it only has to
// outlive a replay of the log after a crash.
const actionRetention = 7 * 24 * time.Hour

// fpRetention is how long the dedup record of a fingerprint that never
// resolves is kept after its last post.
const fpRetention = 30 * 24 * time.Hour

// header is a log that can tell its last sequence number (eventsql.Log).
type header interface {
	Head(ctx context.Context) (int64, error)
}

// Options configure a Dispatcher.
type Options struct {
	Tree      *Tree
	DB        *sql.DB // migrated store database (tables of 00025_notify.sql)
	Consumer  string  // name of the stored cursor (default "notify")
	Poster    Poster
	Runner    Runner    // runs route actions; nil: routes with run are refused
	Directory Directory // resolves mentions; nil: no mentions
	Clock     clock.Clock
	Location  *time.Location // of mute windows (default UTC)
	// DefaultAdapter names the adapter of rooms written without one; it is
	// asked at each post, as adapters may be added after start.
	DefaultAdapter func() string
	Logger         *slog.Logger
	Metrics        prometheus.Registerer
	Batch          int           // events per step (default DefaultBatch)
	PollInterval   time.Duration // default DefaultPollInterval
}

// Dispatcher routes events from the log to rooms. Step, Sync and Run may be
// called from several goroutines: steps take turns.
type Dispatcher struct {
	o   Options
	log *slog.Logger
	m   *metrics

	mu        sync.Mutex
	loaded    bool
	found     bool // the cursor is stored
	cursor    int64
	committed int64 // the cursor as stored
	pruned    time.Time
	groups    map[string]*group
	changed   map[string]*group
	deleted   map[string][2]string
	claims    []action
	actions   sync.WaitGroup
}

// action is a route's command to run for an event.
type action struct {
	route string
	seq   int64
	as    string
	text  string
	rooms []chat.Room
}

// New returns a dispatcher; it loads its state on the first step.
func New(o Options) *Dispatcher {
	if o.Consumer == "" {
		o.Consumer = "notify"
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.DefaultAdapter == nil {
		o.DefaultAdapter = func() string { return "" }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	return &Dispatcher{o: o, log: o.Logger, m: newMetrics(o.Metrics)}
}

func (d *Dispatcher) db() db { return db{sql: d.o.DB, name: d.o.Consumer} }

// load reads the cursor and groups; groups of routes that are no longer in
// the tree are dropped.
func (d *Dispatcher) load(ctx context.Context, log Log) error {
	cursor, groups, found, err := d.db().load(ctx)
	if err != nil {
		return err
	}
	if h, ok := log.(header); ok && !found {
		// The first start of the pipeline on a log that already has events
		// (an upgrade): begin at its end rather than post its history.
		if cursor, err = h.Head(ctx); err != nil {
			return fmt.Errorf("read the end of the event log: %w", err)
		}
		d.log.Info("notify pipeline starts at the end of the event log", "seq", cursor)
	}
	d.cursor, d.committed, d.found, d.groups = cursor, cursor, found, groups
	d.changed, d.deleted, d.claims = map[string]*group{}, map[string][2]string{}, nil
	for id, g := range groups {
		if _, ok := d.o.Tree.Node(g.Route); !ok {
			d.log.Info("dropping the state of a route no longer configured", "route", g.Route, "group", g.Key)
			d.drop(g)
			delete(groups, id)
		}
	}
	d.loaded = true
	d.m.cursor.Set(float64(cursor))
	d.gauge()
	return nil
}

func (d *Dispatcher) gauge() {
	n := 0
	for _, g := range d.groups {
		if g.Kind == kindGroup {
			n++
		}
	}
	d.m.groups.Set(float64(n))
}

// Init loads the stored state. On the very first start it records the
// cursor at once, at the end of the log when the log already has events (an
// upgrade: their history is not posted): call it before events can be
// accepted, so none is taken for history.
func (d *Dispatcher) Init(ctx context.Context, log Log) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(ctx, log); err != nil {
		return err
	}
	return d.commit(ctx)
}

// Cursor is the sequence number of the last event routed.
func (d *Dispatcher) Cursor() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cursor
}

// Step reads one batch after the cursor, routes it, posts what is due
// (group flushes included), and stores the cursor and the group state. It
// returns how many events it read. After an error the state is read again
// from the store, so the batch is routed again (at least once).
func (d *Dispatcher) Step(ctx context.Context, log Log) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.step(ctx, log)
	if err != nil {
		d.loaded = false
		d.m.errors.Inc()
	}
	return n, err
}

func (d *Dispatcher) step(ctx context.Context, log Log) (int, error) {
	if !d.loaded {
		if err := d.load(ctx, log); err != nil {
			return 0, err
		}
	}
	batch, err := log.After(ctx, d.cursor, d.o.Batch)
	if err != nil {
		return 0, fmt.Errorf("read event log: %w", err)
	}
	for _, e := range batch {
		if err := d.route(ctx, e); err != nil {
			return 0, err
		}
		d.cursor = e.Seq
	}
	if err := d.flush(ctx); err != nil {
		return 0, err
	}
	if err := d.commit(ctx); err != nil {
		return 0, err
	}
	d.m.events.Add(float64(len(batch)))
	return len(batch), nil
}

// Process routes events given directly (in seq order) and commits: the
// step without reading the log, for tests and tools.
func (d *Dispatcher) Process(ctx context.Context, events []event.Stored) error {
	_, err := d.Step(ctx, sliceLog(events))
	return err
}

// sliceLog is a Log over a slice.
type sliceLog []event.Stored

func (s sliceLog) After(_ context.Context, seq int64, limit int) ([]event.Stored, error) {
	var out []event.Stored
	for _, e := range s {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out, nil
}

// Flush posts what groups have due at the clock's time, and commits.
func (d *Dispatcher) Flush(ctx context.Context) error {
	_, err := d.Step(ctx, sliceLog(nil))
	return err
}

// Sync routes every event in the log and flushes what is due, then waits
// for the actions it started: what tests and `routes test` call instead of
// waiting for the loop.
func (d *Dispatcher) Sync(ctx context.Context, log Log) error {
	for {
		n, err := d.Step(ctx, log)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	d.actions.Wait()
	return nil
}

// NextFlush is when the earliest group is due (zero when none is).
func (d *Dispatcher) NextFlush() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	var next time.Time
	for _, g := range d.groups {
		if next.IsZero() || g.NextFlush.Before(next) {
			next = g.NextFlush
		}
	}
	return next
}

// Run reads the log until ctx ends: at once when waker signals, else every
// poll interval, and when a group is due. Errors are logged and retried
// with a growing pause.
func (d *Dispatcher) Run(ctx context.Context, log Log, waker Waker) {
	var wake <-chan struct{}
	if waker != nil {
		wake = waker.Notify(ctx)
	}
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		n, err := d.Step(ctx, log)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			d.log.Error("notify step failed; retrying from the stored cursor", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
			case <-d.o.Clock.After(backoff):
			}
			continue
		}
		backoff = 0
		if n == d.o.Batch {
			continue
		}
		wait := d.o.PollInterval
		if next := d.NextFlush(); !next.IsZero() {
			wait = min(wait, max(next.Sub(d.o.Clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-d.o.Clock.After(wait):
		}
	}
	d.actions.Wait()
}

func (d *Dispatcher) commit(ctx context.Context) error {
	if d.cursor == d.committed && len(d.changed) == 0 && len(d.deleted) == 0 && len(d.claims) == 0 && d.found {
		return nil // an idle step writes nothing
	}
	now := d.o.Clock.Now()
	if err := d.db().commit(ctx, d.cursor, d.changed, d.deleted, d.claims, now); err != nil {
		return err
	}
	d.committed, d.found = d.cursor, true
	if now.Sub(d.pruned) > time.Hour {
		if err := d.db().pruneActions(ctx, now.Add(-actionRetention)); err != nil {
			d.log.Warn("prune the action log", "err", err)
		}
		d.pruned = now
	}
	claims := d.claims
	d.changed, d.deleted, d.claims = map[string]*group{}, map[string][2]string{}, nil
	d.m.cursor.Set(float64(d.cursor))
	d.gauge()
	for _, a := range claims {
		d.start(ctx, a)
	}
	return nil
}

func (d *Dispatcher) save(g *group) {
	d.groups[g.id()] = g
	d.changed[g.id()] = g
	delete(d.deleted, g.id())
}

func (d *Dispatcher) drop(g *group) {
	delete(d.groups, g.id())
	delete(d.changed, g.id())
	d.deleted[g.id()] = [2]string{g.Route, g.Key}
}

// route handles one event on every route it matches.
func (d *Dispatcher) route(ctx context.Context, e event.Stored) error {
	for _, n := range d.o.Tree.Match(e.Event) {
		var err error
		if n.Grouped() {
			err = d.addToGroup(ctx, n, e)
		} else {
			err = d.postEvent(ctx, n, e)
		}
		if err != nil {
			return fmt.Errorf("event %d on route %s: %w", e.Seq, n.ID, err)
		}
	}
	return nil
}

func (d *Dispatcher) now() time.Time { return d.o.Clock.Now() }

func (d *Dispatcher) muted(n *Node) bool { return n.Muted(d.now().In(d.o.Location)) }

// postEvent posts one event on a route without grouping: deduplicated by
// fingerprint (a firing fingerprint again within repeat_interval, a
// resolved one that was not posted firing), muted, throttled.
func (d *Dispatcher) postEvent(ctx context.Context, n *Node, e event.Stored) error {
	now := d.now()
	var fp *group
	if e.Fingerprint != "" {
		fp = d.groups[n.ID+"\x00fp:"+e.Fingerprint]
		firing := e.Status != event.Resolved
		if firing && fp != nil && fp.Firing && now.Sub(fp.LastPost) < n.RepeatInterval ||
			!firing && (fp == nil || !fp.Firing) {
			d.m.suppressed.WithLabelValues(n.ID, "duplicate").Inc()
			return nil
		}
	}
	if e.Status != event.Resolved {
		d.queueAction(ctx, n, e)
	}
	if d.muted(n) {
		d.m.suppressed.WithLabelValues(n.ID, "muted").Inc()
		return nil
	}
	p := renderEvent(e.Event)
	if n.Throttle > 0 {
		key := n.ID + "\x00throttle"
		tg := d.groups[key]
		if tg != nil && now.Sub(tg.LastPost) < n.Throttle {
			tg.Suppressed++
			d.save(tg)
			d.m.suppressed.WithLabelValues(n.ID, "throttled").Inc()
			return nil
		}
		if tg == nil {
			tg = &group{Route: n.ID, Key: "throttle", Kind: kindThrottle, Created: now}
		}
		tg.LastPost, tg.NextFlush, tg.Suppressed = now, now.Add(n.Throttle), 0
		d.save(tg)
	}
	if err := d.post(ctx, n, e.Room, p, d.labelMentions(n, e.Labels)); err != nil {
		return err
	}
	d.m.posts.WithLabelValues(n.ID, "event").Inc()
	if e.Fingerprint != "" {
		if e.Status == event.Resolved {
			d.drop(fp)
			return nil
		}
		if fp == nil {
			fp = &group{Route: n.ID, Key: "fp:" + e.Fingerprint, Kind: kindFP, Created: now}
		}
		fp.Firing, fp.LastPost, fp.NextFlush = true, now, now.Add(fpRetention)
		d.save(fp)
	}
	return nil
}

// alertID is an event's identity in a group: its fingerprint, else its tag
// and labels.
func alertID(e event.Event) string {
	if e.Fingerprint != "" {
		return e.Fingerprint
	}
	h := sha256.Sum256([]byte(e.Tag + "\x00" + labelString(e.Labels)))
	return hex.EncodeToString(h[:8])
}

// addToGroup adds an event to its aggregation group on a route with group_by.
func (d *Dispatcher) addToGroup(ctx context.Context, n *Node, e event.Stored) error {
	labels := n.GroupLabels(e.Event)
	key := "g:" + labelString(labels)
	if e.Room != "" {
		key += "|room=" + e.Room
	}
	g := d.groups[n.ID+"\x00"+key]
	id := alertID(e.Event)
	if e.Status == event.Resolved {
		if g == nil || g.Alerts[id] == nil || !g.Alerts[id].Firing {
			d.m.suppressed.WithLabelValues(n.ID, "duplicate").Inc()
			return nil
		}
		g.Alerts[id].Firing = false
		d.save(g)
		return nil
	}
	now := d.now()
	if g == nil {
		g = &group{Route: n.ID, Key: key, Kind: kindGroup, Tag: e.Tag, Labels: labels, Room: e.Room,
			Alerts: map[string]*alert{}, Created: now, NextFlush: now.Add(n.GroupWait)}
	}
	a := g.Alerts[id]
	if a == nil {
		a = &alert{}
		g.Alerts[id] = a
	}
	isNew := !a.Firing
	title := e.Title
	if title == "" {
		title = e.Tag
	}
	a.Title, a.Severity, a.Firing = title, string(e.Severity), true
	for _, m := range d.labelMentions(n, e.Labels) {
		if !contains(g.Mentions, m) {
			g.Mentions = append(g.Mentions, m)
		}
	}
	d.save(g)
	if isNew {
		d.queueAction(ctx, n, e)
	} else {
		d.m.suppressed.WithLabelValues(n.ID, "duplicate").Inc()
	}
	return nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// flush posts every group that is due.
func (d *Dispatcher) flush(ctx context.Context) error {
	now := d.now()
	for _, g := range d.groups {
		if g.NextFlush.After(now) {
			continue
		}
		n, ok := d.o.Tree.Node(g.Route)
		if !ok {
			d.drop(g)
			continue
		}
		var err error
		switch g.Kind {
		case kindGroup:
			err = d.flushGroup(ctx, n, g, now)
		case kindThrottle:
			err = d.flushThrottle(ctx, n, g, now)
		default:
			d.drop(g)
		}
		if err != nil {
			return fmt.Errorf("route %s: %w", n.ID, err)
		}
	}
	return nil
}

func (d *Dispatcher) flushThrottle(ctx context.Context, n *Node, g *group, now time.Time) error {
	if g.Suppressed == 0 {
		d.drop(g)
		return nil
	}
	if !d.muted(n) {
		if err := d.post(ctx, n, "", renderThrottled(n.ID, g.Suppressed), nil); err != nil {
			return err
		}
		d.m.posts.WithLabelValues(n.ID, "throttled").Inc()
	}
	g.Suppressed, g.LastPost, g.NextFlush = 0, now, now.Add(n.Throttle)
	d.save(g)
	return nil
}

func (d *Dispatcher) flushGroup(ctx context.Context, n *Node, g *group, now time.Time) error {
	if d.muted(n) {
		g.NextFlush = now.Add(n.GroupInterval)
		d.save(g)
		d.m.suppressed.WithLabelValues(n.ID, "muted").Inc()
		return nil
	}
	firing, fresh := 0, 0
	for _, a := range g.Alerts {
		if a.Firing {
			firing++
			if !a.Notified {
				fresh++
			}
		}
	}
	throttled := n.Throttle > 0 && !g.LastPost.IsZero() && now.Sub(g.LastPost) < n.Throttle
	due := firing == 0 && g.Posted || firing > 0 && (fresh > 0 || now.Sub(g.LastPost) >= n.RepeatInterval)
	if due && throttled {
		g.NextFlush = g.LastPost.Add(n.Throttle)
		d.save(g)
		d.m.suppressed.WithLabelValues(n.ID, "throttled").Inc()
		return nil
	}
	if firing == 0 {
		if g.Posted {
			if err := d.post(ctx, n, g.Room, renderResolved(g), g.Mentions); err != nil {
				return err
			}
			d.m.posts.WithLabelValues(n.ID, "resolved").Inc()
		}
		d.drop(g)
		return nil
	}
	if due {
		if err := d.post(ctx, n, g.Room, renderFiring(g), g.Mentions); err != nil {
			return err
		}
		d.m.posts.WithLabelValues(n.ID, "group").Inc()
		g.LastPost, g.Posted = now, true
		for id, a := range g.Alerts {
			if !a.Firing {
				delete(g.Alerts, id)
				continue
			}
			a.Notified = true
		}
	}
	g.NextFlush = now.Add(n.GroupInterval)
	d.save(g)
	return nil
}

// rooms are where a route posts: the event's own room when it names one.
func (d *Dispatcher) rooms(n *Node, eventRoom string) ([]chat.Room, error) {
	specs := n.Rooms
	if eventRoom != "" {
		rs, err := ParseRoom(eventRoom)
		if err != nil {
			return nil, err
		}
		specs = []RoomSpec{rs}
	}
	out := make([]chat.Room, 0, len(specs))
	for _, s := range specs {
		r := s.Room(d.o.DefaultAdapter())
		if r.Adapter == "" {
			return nil, fmt.Errorf("room %q names no adapter and there is no default adapter (set routes.default_adapter)", s.ID)
		}
		out = append(out, r)
	}
	return out, nil
}

// post hands p to the poster for each room, with mentions resolved on the
// room's adapter. A room that cannot be resolved is a configuration error:
// logged and counted, and the pipeline goes on. A poster error (the outbox
// could not store the post) fails the step.
func (d *Dispatcher) post(ctx context.Context, n *Node, eventRoom string, p chat.Post, labelNames []string) error {
	rooms, err := d.rooms(n, eventRoom)
	if err != nil {
		d.log.Error("notification has nowhere to go", "route", n.ID, "err", err)
		d.m.suppressed.WithLabelValues(n.ID, "no_room").Inc()
		return nil
	}
	if len(rooms) == 0 {
		d.m.suppressed.WithLabelValues(n.ID, "no_room").Inc()
		return nil
	}
	names := append(append([]string(nil), staticMentions(n)...), labelNames...)
	for _, r := range rooms {
		rp := p
		if len(names) > 0 && d.o.Directory != nil {
			ids, unplaced := d.o.Directory.Mentions(ctx, r.Adapter, names)
			rp.Mentions = ids
			if len(unplaced) > 0 {
				rp.Text += "\ncc " + strings.Join(unplaced, ", ")
			}
		}
		if _, err := d.o.Poster.Post(ctx, r, rp); err != nil {
			return fmt.Errorf("post to %s: %w", r, err)
		}
	}
	return nil
}

func staticMentions(n *Node) []string {
	var out []string
	for _, m := range n.Mention {
		if !strings.HasPrefix(m, "label:") {
			out = append(out, m)
		}
	}
	return out
}

// labelMentions are the names the route's label mentions resolve to for
// these labels: "label:owner" with owner=alice,group:dba gives alice and group:dba.
func (d *Dispatcher) labelMentions(n *Node, labels map[string]string) []string {
	var out []string
	for _, m := range n.Mention {
		l, ok := strings.CutPrefix(m, "label:")
		if !ok {
			continue
		}
		for _, v := range strings.Split(labels[l], ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// safeValue is what a placeholder of an action may expand to: one word, so
// an event's label cannot add words to the command.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9._:/@+=-]+$`)

// expandRun fills a route action's placeholders from the event.
func expandRun(run string, e event.Event) (string, error) {
	var bad error
	out := placeholder.ReplaceAllStringFunc(run, func(ph string) string {
		key := ph[1 : len(ph)-1]
		var v string
		if l, ok := strings.CutPrefix(key, "labels."); ok {
			v = e.Labels[l]
		} else {
			v, _ = field(e, key)
			if key == "fingerprint" {
				v = e.Fingerprint
			}
		}
		if !safeValue.MatchString(v) && bad == nil {
			if v == "" {
				bad = fmt.Errorf("%s is empty", ph)
			} else {
				bad = fmt.Errorf("%s is %q, which is not one word of letters, digits and ._:/@+=-", ph, v)
			}
		}
		return v
	})
	return out, bad
}

// queueAction prepares the route's action for a new firing event; it is
// claimed in the step's transaction and started after it.
func (d *Dispatcher) queueAction(ctx context.Context, n *Node, e event.Stored) {
	if n.Run == "" {
		return
	}
	rooms, err := d.rooms(n, "")
	if err != nil {
		d.log.Error("route action has no room for its output", "route", n.ID, "err", err)
	}
	text, err := expandRun(n.Run, e.Event)
	if err != nil {
		d.m.actions.WithLabelValues(n.ID, "refused").Inc()
		d.log.Warn("route action not run", "route", n.ID, "event", e.ID, "err", err)
		p := chat.Post{Text: fmt.Sprintf("Not running `%s` for %s: %v.", n.Run, e.Tag, err), Severity: chat.SeverityWarning}
		if perr := d.post(ctx, n, "", p, nil); perr != nil {
			d.log.Error("post action refusal", "route", n.ID, "err", perr)
		}
		return
	}
	d.claims = append(d.claims, action{route: n.ID, seq: e.Seq, as: n.As, text: text, rooms: rooms})
}

// start runs a claimed action in the background.
func (d *Dispatcher) start(ctx context.Context, a action) {
	if d.o.Runner == nil {
		d.m.actions.WithLabelValues(a.route, "refused").Inc()
		d.log.Error("route action not run: the pipeline has no runner", "route", a.route)
		return
	}
	d.actions.Add(1)
	go func() {
		defer d.actions.Done()
		err := d.o.Runner.RunAs(context.WithoutCancel(ctx), a.as, a.rooms, a.text)
		outcome := "ok"
		if err != nil {
			outcome = "error"
			var r interface{ Refused() bool }
			if errors.As(err, &r) && r.Refused() {
				outcome = "refused"
			}
			d.log.Warn("route action failed", "route", a.route, "event_seq", a.seq, "as", a.as, "command", a.text, "err", err)
		}
		d.m.actions.WithLabelValues(a.route, outcome).Inc()
	}()
}
