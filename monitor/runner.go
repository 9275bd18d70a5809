package monitor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/clock"
	"github.com/opsbot/opsbot/event"
)

// The tags of the events monitors emit.
const (
	TagFiring   = "monitor.firing"
	TagResolved = "monitor.resolved"
	// TagSource is a monitoring source going unreachable (status firing)
	// or answering again (resolved); fingerprint "source/NAME".
	TagSource = "monitor.source"
)

// Emit stores an event and lets the route tree have it (the module's h.Ingest).
type Emit func(ctx context.Context, e event.Event) error

// Options configure a Runner.
type Options struct {
	DB     *sql.DB
	Clock  clock.Clock
	Logger *slog.Logger
	Emit   Emit
	Client *http.Client
}

// Runner runs the checks of a Config and keeps their state.
type Runner struct {
	cfg     Config
	checks  map[string]*Check
	sources map[string]Source
	db      stateDB
	clk     clock.Clock
	log     *slog.Logger
	emit    Emit
	client  *http.Client

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// NewRunner validates cfg and builds its sources.
func NewRunner(cfg Config, o Options) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	r := &Runner{cfg: cfg, checks: map[string]*Check{}, sources: map[string]Source{}, db: stateDB{o.DB},
		clk: o.Clock, log: o.Logger, emit: o.Emit, client: o.Client, locks: map[string]*sync.Mutex{}}
	for name, sc := range cfg.Sources {
		s, err := NewSource(sc, o.Client)
		if err != nil {
			return nil, fmt.Errorf("sources.%s: %w", name, err)
		}
		r.sources[name] = s
	}
	for i := range cfg.Checks {
		c := &cfg.Checks[i]
		r.checks[c.Name] = c
		r.locks[c.Name] = &sync.Mutex{}
	}
	return r, nil
}

// Checks lists the monitors, by name.
func (r *Runner) Checks() []*Check {
	out := make([]*Check, 0, len(r.checks))
	for _, c := range r.cfg.Checks {
		out = append(out, r.checks[c.Name])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a monitor by name.
func (r *Runner) Lookup(name string) (*Check, bool) {
	c, ok := r.checks[strings.ToLower(name)]
	return c, ok
}

// Source finds a source by name; "" is the graph source (the configured
// one, or the only Prometheus or Graphite source).
func (r *Runner) Source(name string) (Source, string, error) {
	if name == "" {
		name = r.cfg.GraphSource
	}
	if name == "" {
		var cands []string
		for n, sc := range r.cfg.Sources {
			if sc.Type == "prometheus" || sc.Type == "graphite" {
				cands = append(cands, n)
			}
		}
		sort.Strings(cands)
		switch len(cands) {
		case 0:
			return nil, "", errors.New("no Prometheus or Graphite source is configured (monitors.sources)")
		case 1:
			name = cands[0]
		default:
			return nil, "", fmt.Errorf("several sources could answer (%s): name one with `on SOURCE`, or set monitors.graph_source", strings.Join(cands, ", "))
		}
	}
	s, ok := r.sources[name]
	if !ok {
		names := make([]string, 0, len(r.sources))
		for n := range r.sources {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, "", fmt.Errorf("%q is not a source (sources: %s)", name, strings.Join(names, ", "))
	}
	return s, name, nil
}

// ErrUnknown is returned for a monitor that isn't configured.
var ErrUnknown = errors.New("no such monitor")

// Check runs one monitor now: it queries, evaluates, saves the state and
// emits the events a change calls for. A source that doesn't answer is
// announced once (TagSource) and the monitor's state is left as it was.
func (r *Runner) Check(ctx context.Context, name string) error {
	c, ok := r.Lookup(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknown, name)
	}
	lock := r.locks[c.Name]
	lock.Lock()
	defer lock.Unlock()
	st, err := r.db.load(ctx, c.Name)
	if err != nil {
		return err
	}
	res, checkErr := r.observe(ctx, c, st)
	now := r.clk.Now()
	st.Error = ""
	if checkErr != nil {
		st.Error = checkErr.Error()
	}
	st, tr := evaluate(c, st, res, now)
	if tr != nil {
		if err := r.emitTransition(ctx, c, *tr); err != nil {
			// Not saved as announced: the next check tries again.
			return fmt.Errorf("monitor %s: emit %s: %w", c.Name, tr.Status, err)
		}
	}
	if err := r.db.save(ctx, st, now); err != nil {
		return err
	}
	if checkErr != nil && !errors.Is(checkErr, ErrUnreachable) {
		return fmt.Errorf("monitor %s: %w", c.Name, checkErr)
	}
	return nil
}

// observe gets the check's result.
func (r *Runner) observe(ctx context.Context, c *Check, st State) (Result, error) {
	switch {
	case c.HTTP != nil:
		return r.probe(ctx, c), nil
	case c.Heartbeat != nil:
		return heartbeatResult(c, st, r.clk.Now()), nil
	}
	samples, err := r.sources[c.Source].Query(ctx, c.Query)
	if errors.Is(err, ErrUnreachable) {
		r.sourceReachable(ctx, c.Source, false, err.Error())
		return Result{}, err
	}
	ss := r.sourceReachable(ctx, c.Source, true, "")
	if err != nil {
		return Result{}, err
	}
	v, has := reduce(c.Reduce, samples)
	res := Result{Value: v, HasValue: has, Checked: true}
	if !has {
		res.Since = ss.Since // missing data counts from when the source last came back
	}
	return res, nil
}

// sourceReachable records whether a source answered and announces a change once.
func (r *Runner) sourceReachable(ctx context.Context, name string, ok bool, errText string) sourceState {
	now := r.clk.Now()
	changed, st, err := r.db.setReachable(ctx, name, ok, errText, now)
	if err != nil {
		r.log.Error("record source reachability", "source", name, "err", err)
		return st
	}
	if !changed {
		return st
	}
	e := event.Event{Tag: TagSource, Fingerprint: "source/" + name, Severity: event.Warning, Time: now,
		Labels: map[string]string{"source": name, "type": r.cfg.Sources[name].Type}}
	if ok {
		e.Status, e.Title = event.Resolved, fmt.Sprintf("Monitoring source %s answers again", name)
		r.log.Info("monitoring source answers again", "source", name)
	} else {
		e.Status, e.Title = event.Firing, fmt.Sprintf("Monitoring source %s is unreachable", name)
		e.Text = errText + "\nIts monitors keep their state, and no \"no data\" alert is raised, until it answers again."
		r.log.Warn("monitoring source unreachable", "source", name, "err", errText)
	}
	if r.emit != nil {
		if err := r.emit(ctx, e); err != nil {
			r.log.Error("emit source event", "source", name, "err", err)
		}
	}
	return st
}

// heartbeatResult: the monitor breaches when the expected event is late.
func heartbeatResult(c *Check, st State, now time.Time) Result {
	if st.LastData.IsZero() {
		// Not seen since monitoring began: the wait counts from now.
		return Result{Checked: true, OK: true, Since: now}
	}
	late := c.Heartbeat.Every.D() + c.Heartbeat.Grace.D()
	age := now.Sub(st.LastData)
	if age > late {
		return Result{Checked: true, Failure: fmt.Sprintf("no %s for %s (expected every %s)", c.Heartbeat.Tag, FormatDuration(roundDur(age)), FormatDuration(c.Heartbeat.Every.D()))}
	}
	return Result{Checked: true, OK: true}
}

// Observe feeds an event to the heartbeat monitors that expect it; a late
// heartbeat that arrives resolves its monitor at once.
func (r *Runner) Observe(ctx context.Context, e event.Event) {
	for _, c := range r.Checks() {
		hb := c.Heartbeat
		if hb == nil || !event.Match(hb.Tag, e.Tag) || !labelsMatch(hb.Labels, e.Labels) {
			continue
		}
		if err := r.beat(ctx, c); err != nil {
			r.log.Error("heartbeat", "monitor", c.Name, "err", err)
		}
	}
}

func labelsMatch(want, got map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func (r *Runner) beat(ctx context.Context, c *Check) error {
	lock := r.locks[c.Name]
	lock.Lock()
	defer lock.Unlock()
	st, err := r.db.load(ctx, c.Name)
	if err != nil {
		return err
	}
	now := r.clk.Now()
	st.LastData = now
	st, tr := evaluate(c, st, Result{Checked: true, OK: true}, now)
	if tr != nil {
		if err := r.emitTransition(ctx, c, *tr); err != nil {
			return err
		}
	}
	return r.db.save(ctx, st, now)
}

// probe runs an HTTP check.
func (r *Runner) probe(ctx context.Context, c *Check) Result {
	h := c.HTTP
	timeout := h.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := h.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URL, nil)
	if err != nil {
		return Result{Checked: true, Failure: err.Error()}
	}
	for k, v := range h.Headers {
		req.Header.Set(k, v.Reveal())
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return Result{Checked: true, Failure: "request failed: " + cleanErr(err, h.URL)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	latency := time.Since(start)
	res := Result{Checked: true, Value: latency.Seconds(), HasValue: true}
	want := h.Status
	if want == 0 {
		want = http.StatusOK
	}
	switch {
	case err != nil:
		res.Failure = "reading the body failed: " + err.Error()
	case resp.StatusCode != want:
		res.Failure = fmt.Sprintf("HTTP %d, expected %d", resp.StatusCode, want)
	case h.body != nil && !h.body.Match(body):
		res.Failure = fmt.Sprintf("the body does not match %q", h.Body)
	case h.Latency.D() > 0 && latency > h.Latency.D():
		res.Failure = fmt.Sprintf("answered in %s, slower than %s", roundDur(latency), h.Latency)
	}
	return res
}

// emitTransition turns a state change into a monitor.firing or
// monitor.resolved event (fingerprint: the monitor's name).
func (r *Runner) emitTransition(ctx context.Context, c *Check, tr Transition) error {
	if r.emit == nil {
		return nil
	}
	sev := event.Severity(c.Severity)
	if sev == "" {
		sev = event.Warning
	}
	labels := map[string]string{"monitor": c.Name, "kind": c.Kind(r.cfg.Sources)}
	if c.Source != "" {
		labels["source"] = c.Source
	}
	for k, v := range c.Labels {
		labels[k] = v
	}
	st := tr.State
	e := event.Event{Fingerprint: c.Name, Severity: sev, Labels: labels, Room: c.Room, Time: r.clk.Now(),
		Fields: map[string]string{}}
	if st.HasValue {
		e.Fields["value"] = fmtValue(st.Value)
	}
	if c.Query != "" {
		e.Fields["query"] = c.Query
	}
	if tr.Status == "firing" {
		e.Tag, e.Status = TagFiring, event.Firing
		e.Title = fmt.Sprintf("%s is firing: %s", c.Name, st.Reason)
		if c.For.D() > 0 {
			e.Title += " for " + FormatDuration(c.For.D())
		}
	} else {
		e.Tag, e.Status, e.Severity = TagResolved, event.Resolved, sev
		e.Title = c.Name + " resolved"
		if st.HasValue {
			e.Title += ": " + fmtValue(st.Value)
		}
	}
	e.Text = c.Text
	return r.emit(ctx, e)
}

// Silence stops a monitor's "firing" events until until.
func (r *Runner) Silence(ctx context.Context, name string, until time.Time, by string) error {
	c, ok := r.Lookup(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknown, name)
	}
	return r.db.silence(ctx, c.Name, until, by, r.clk.Now())
}

// Status is a monitor with its state, for `monitors` and the API.
type Status struct {
	Name          string    `json:"name"`
	Kind          string    `json:"kind"`
	Source        string    `json:"source,omitempty"`
	Query         string    `json:"query,omitempty"`
	Condition     string    `json:"condition"`
	Every         string    `json:"every"`
	State         string    `json:"state"`
	Since         time.Time `json:"since,omitzero"`
	Reason        string    `json:"reason,omitempty"`
	Value         *float64  `json:"value,omitempty"`
	LastCheck     time.Time `json:"last_check,omitzero"`
	LastData      time.Time `json:"last_data,omitzero"` // for a heartbeat: the last event seen
	Error         string    `json:"error,omitempty"`
	SilencedUntil time.Time `json:"silenced_until,omitzero"`
	SilencedBy    string    `json:"silenced_by,omitempty"`
	SourceDown    bool      `json:"source_unreachable,omitempty"`
}

// Statuses lists every monitor with its state.
func (r *Runner) Statuses(ctx context.Context) ([]Status, error) {
	states, err := r.db.loadAll(ctx)
	if err != nil {
		return nil, err
	}
	srcs, err := r.db.sources(ctx)
	if err != nil {
		return nil, err
	}
	now := r.clk.Now()
	var out []Status
	for _, c := range r.Checks() {
		st := states[c.Name]
		s := Status{Name: c.Name, Kind: c.Kind(r.cfg.Sources), Source: c.Source, Query: c.Query, Every: FormatDuration(c.Interval()),
			State: st.State, Since: st.Since, Reason: st.Reason, LastCheck: st.LastCheck, LastData: st.LastData, Error: st.Error}
		switch {
		case c.HTTP != nil:
			s.Condition = "GET " + redactBase(c.HTTP.URL) + " answers"
			if c.For.D() > 0 {
				s.Condition += ", failing for " + c.For.String()
			}
		case c.Heartbeat != nil:
			s.Condition = fmt.Sprintf("%s every %s", c.Heartbeat.Tag, FormatDuration(c.Heartbeat.Every.D()))
		default:
			s.Condition = c.describe()
		}
		if s.State == "" {
			s.State = "unknown"
		}
		if st.HasValue {
			v := st.Value
			s.Value = &v
		}
		if st.Silenced(now) {
			s.SilencedUntil, s.SilencedBy = st.SilencedUntil, st.SilencedBy
		}
		if ss, ok := srcs[c.Source]; ok && !ss.Reachable {
			s.SourceDown = true
		}
		out = append(out, s)
	}
	return out, nil
}
