package statuspage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// Mirror copies changes to another status page (Atlassian Statuspage).
type Mirror interface {
	SetComponent(ctx context.Context, c ComponentConfig, st State) error
	OpenIncident(ctx context.Context, inc Incident, body string, states map[string]State) (remoteID string, err error)
	UpdateIncident(ctx context.Context, remoteID string, inc Incident, body string) error
}

// MirrorError says the change was made here but the mirror failed.
type MirrorError struct{ Err error }

func (e *MirrorError) Error() string {
	return "saved, but the Statuspage mirror failed: " + e.Err.Error()
}
func (e *MirrorError) Unwrap() error { return e.Err }

// ErrNoOpenIncident is returned by Update and Resolve without an open incident.
var ErrNoOpenIncident = errors.New("no incident is open")

// Service is the status page: configured components with stored states,
// incidents and the mirror.
type Service struct {
	cfg    Config
	st     *Store
	clock  clock.Clock
	loc    *time.Location
	mirror Mirror
}

// NewService returns the status page over a store; mirror may be nil.
func NewService(cfg Config, st *Store, clk clock.Clock, loc *time.Location, mirror Mirror) *Service {
	if clk == nil {
		clk = clock.Real{}
	}
	if loc == nil {
		loc = time.UTC
	}
	if cfg.Title == "" {
		cfg.Title = "Status"
	}
	if cfg.HistoryDays == 0 {
		cfg.HistoryDays = 14
	}
	return &Service{cfg: cfg, st: st, clock: clk, loc: loc, mirror: mirror}
}

// Config is the service's configuration (with defaults).
func (s *Service) Config() Config { return s.cfg }

// Store is where the service keeps its state.
func (s *Service) Store() *Store { return s.st }

func norm(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// Find returns the configured component named name or one of its aliases
// (case-insensitively, spaces collapsed); otherwise the near misses.
func (s *Service) Find(name string) (ComponentConfig, []string, bool) {
	n := norm(name)
	for _, c := range s.cfg.Components {
		if norm(c.Name) == n {
			return c, nil, true
		}
		for _, a := range c.Aliases {
			if norm(a) == n {
				return c, nil, true
			}
		}
	}
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	for _, c := range s.cfg.Components {
		best := -1
		for _, k := range append([]string{c.Name}, c.Aliases...) {
			k = norm(k)
			d := distance(n, k)
			limit := max(1, min(3, len(k)/3))
			if d <= limit || (len(n) >= 3 && (strings.HasPrefix(k, n) || strings.Contains(k, n))) {
				if best < 0 || d < best {
					best = d
				}
			}
		}
		if best >= 0 {
			cands = append(cands, cand{c.Name, best})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].d < cands[j].d })
	var near []string
	for _, c := range cands {
		near = append(near, c.name)
	}
	return ComponentConfig{}, near, false
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Components returns the configured components with their states; a
// component in an active maintenance window that is otherwise operational
// shows as under maintenance.
func (s *Service) Components(ctx context.Context) ([]Component, error) {
	states, err := s.st.States(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	inMaint := map[string]bool{}
	for _, w := range s.cfg.Windows(s.loc) {
		if w.Active(now) {
			for _, c := range w.Components {
				inMaint[norm(c)] = true
			}
		}
	}
	out := make([]Component, 0, len(s.cfg.Components))
	for _, c := range s.cfg.Components {
		comp := Component{Name: c.Name, Group: c.Group, Description: c.Description, Aliases: c.Aliases, State: Operational}
		if st, ok := states[c.Name]; ok {
			comp.State, comp.Updated, comp.UpdatedBy = st.State, st.Updated, st.UpdatedBy
		}
		if comp.State == Operational && inMaint[norm(c.Name)] {
			comp.State = Maintenance
		}
		out = append(out, comp)
	}
	return out, nil
}

// SetState changes a component's state; changed is false when it already
// had that state.
func (s *Service) SetState(ctx context.Context, c ComponentConfig, st State, by string) (prev State, changed bool, err error) {
	prev, changed, err = s.st.SetState(ctx, c.Name, st, by, s.clock.Now())
	if err != nil || !changed || s.mirror == nil {
		return prev, changed, err
	}
	if err := s.mirror.SetComponent(ctx, c, st); err != nil {
		return prev, changed, &MirrorError{Err: err}
	}
	return prev, changed, nil
}

// Open opens an incident about the components that are not operational now.
func (s *Service) Open(ctx context.Context, st Status, name, body, by string) (Incident, error) {
	if st == Resolved {
		return Incident{}, errors.New("an incident cannot be opened resolved")
	}
	comps, err := s.Components(ctx)
	if err != nil {
		return Incident{}, err
	}
	inc := Incident{Name: name, Status: st, Impact: Operational, Created: s.clock.Now()}
	states := map[string]State{}
	for _, c := range comps {
		if c.State != Operational {
			inc.Components = append(inc.Components, c.Name)
			states[c.Name] = c.State
			if c.State.Worse(inc.Impact) {
				inc.Impact = c.State
			}
		}
	}
	inc, err = s.st.Open(ctx, inc, body, by)
	if err != nil || s.mirror == nil {
		return inc, err
	}
	remote, err := s.mirror.OpenIncident(ctx, inc, body, states)
	if err != nil {
		return inc, &MirrorError{Err: err}
	}
	inc.RemoteID = remote
	if err := s.st.SetRemoteID(ctx, inc.ID, remote); err != nil {
		return inc, err
	}
	return inc, nil
}

// Update adds an update to incident id (0: the latest open one), keeping
// its status when st is empty.
func (s *Service) Update(ctx context.Context, id int64, st Status, body, by string) (Incident, error) {
	var inc Incident
	var err error
	if id == 0 {
		inc, err = s.st.LatestOpen(ctx)
		if errors.Is(err, ErrNotFound) {
			return inc, ErrNoOpenIncident
		}
	} else {
		inc, err = s.st.Incident(ctx, id)
	}
	if err != nil {
		return inc, err
	}
	if !inc.Open() {
		return inc, fmt.Errorf("incident #%d is already resolved", inc.ID)
	}
	if st == "" {
		st = inc.Status
	}
	if err := s.st.AddUpdate(ctx, inc.ID, st, body, by, s.clock.Now()); err != nil {
		return inc, err
	}
	inc, err = s.st.Incident(ctx, inc.ID)
	if err != nil || s.mirror == nil || inc.RemoteID == "" {
		return inc, err
	}
	if err := s.mirror.UpdateIncident(ctx, inc.RemoteID, inc, body); err != nil {
		return inc, &MirrorError{Err: err}
	}
	return inc, nil
}

// Resolve resolves incident id (0: the latest open one).
func (s *Service) Resolve(ctx context.Context, id int64, body, by string) (Incident, error) {
	if strings.TrimSpace(body) == "" {
		body = "This incident has been resolved."
	}
	return s.Update(ctx, id, Resolved, body, by)
}

// Summary is everything the public page shows.
type Summary struct {
	Title       string
	URL         string
	Updated     time.Time
	Overall     State
	Components  []Component
	Groups      []Group
	Open        []Incident
	Past        []Incident
	Maintenance []Window // active and upcoming
	Now         time.Time
}

// Group is components under one heading ("" for ungrouped).
type Group struct {
	Name       string
	State      State
	Components []Component
}

// Indicator is Statuspage's summary indicator for the overall state.
func (s Summary) Indicator() string {
	switch s.Overall {
	case Degraded:
		return "minor"
	case Partial:
		return "major"
	case Major:
		return "critical"
	case Maintenance:
		return "maintenance"
	}
	if len(s.Open) > 0 {
		return "minor"
	}
	return "none"
}

// Description is the overall state in words.
func (s Summary) Description() string {
	switch s.Overall {
	case Degraded:
		return "Degraded Performance"
	case Partial:
		return "Partial System Outage"
	case Major:
		return "Major System Outage"
	case Maintenance:
		return "Service Under Maintenance"
	}
	if len(s.Open) > 0 {
		return "Ongoing Incident"
	}
	return "All Systems Operational"
}

// Summary builds the page's content.
func (s *Service) Summary(ctx context.Context) (Summary, error) {
	now := s.clock.Now()
	sum := Summary{Title: s.cfg.Title, URL: s.cfg.URL, Overall: Operational, Now: now}
	comps, err := s.Components(ctx)
	if err != nil {
		return sum, err
	}
	sum.Components = comps
	idx := map[string]int{}
	for _, c := range comps {
		if c.State.Worse(sum.Overall) {
			sum.Overall = c.State
		}
		if c.Updated.After(sum.Updated) {
			sum.Updated = c.Updated
		}
		i, ok := idx[c.Group]
		if !ok {
			i = len(sum.Groups)
			idx[c.Group] = i
			sum.Groups = append(sum.Groups, Group{Name: c.Group, State: Operational})
		}
		g := &sum.Groups[i]
		g.Components = append(g.Components, c)
		if c.State.Worse(g.State) {
			g.State = c.State
		}
	}
	incs, err := s.st.Incidents(ctx, Filter{Since: now.AddDate(0, 0, -s.cfg.HistoryDays), Limit: 200})
	if err != nil {
		return sum, err
	}
	open, err := s.st.Incidents(ctx, Filter{OpenOnly: true, Limit: 50})
	if err != nil {
		return sum, err
	}
	sum.Open = open
	for _, inc := range incs {
		if inc.Updated.After(sum.Updated) {
			sum.Updated = inc.Updated
		}
		if !inc.Open() {
			sum.Past = append(sum.Past, inc)
		}
	}
	for _, inc := range open {
		if inc.Updated.After(sum.Updated) {
			sum.Updated = inc.Updated
		}
	}
	for _, w := range s.cfg.Windows(s.loc) {
		if w.Ends.After(now) {
			sum.Maintenance = append(sum.Maintenance, w)
			if w.Starts.After(sum.Updated) && !w.Starts.After(now) {
				sum.Updated = w.Starts
			}
		}
	}
	return sum, nil
}
