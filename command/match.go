package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Matcher holds the registered commands and matches chat text against them
// through an index on the first word. It is safe for concurrent use.
type Matcher struct {
	types *Types

	mu     sync.RWMutex
	byName map[string]*entry
	idx    index
	seq    int
}

// entry is a registered command: its spec, compiled grammar and resolved types.
type entry struct {
	spec     *Spec
	g        *Grammar
	types    []Type   // per parameter
	defaults []string // per parameter: the normalised default, "" for none
	seq      int      // registration order, for stable ties
}

// NewMatcher returns an empty matcher resolving argument types in types (the
// built-ins when nil).
func NewMatcher(types *Types) *Matcher {
	if types == nil {
		types = NewTypes()
	}
	return &Matcher{types: types, byName: make(map[string]*entry)}
}

// Result is the outcome of matching a text.
type Result struct {
	// Spec, Args and Flags are the match, if any. Spec is also set with Missing
	// and Invalid, to the command they are about. Flags is nil when no flag
	// is present.
	Spec  *Spec
	Args  Args
	Flags map[string]bool
	// Ambiguous lists the commands that matched equally well when there is more than one.
	Ambiguous []*Spec
	// Missing is set when a command's leading literals matched but the text
	// ends where an argument is needed: the first missing one. It may be an
	// argument inside an optional part whose literal was given ("deploy api to").
	Missing *Param
	// Choices are the values of the missing or invalid argument when its type
	// is an Enumerator, to offer as buttons or a list.
	Choices []string
	// Invalid is set when a command matched but an argument failed its type
	// check; it is an *ArgError with a user-facing message.
	Invalid error
	// Suggestions are "did you mean …?" candidates when nothing matched: the
	// leading words of commands close to the text's (at most 3).
	Suggestions []string
}

// Matched reports whether a single command matched.
func (r Result) Matched() bool { return r.Spec != nil && r.Missing == nil && r.Invalid == nil }

// ArgError is an argument that failed its type check.
type ArgError struct {
	Param string
	Value string
	Err   error
}

func (e *ArgError) Error() string { return e.Err.Error() }

func (e *ArgError) Unwrap() error { return e.Err }

// Add registers a command. It compiles the grammar and resolves its argument
// types, so types must be registered first. It also checks that the spec's
// ForceFlag is an optional literal of the grammar and that the arguments its
// permissions and Secret name exist. The spec must not change afterwards.
func (m *Matcher) Add(s *Spec) error {
	if s == nil || s.Name == "" {
		return errors.New("add command: a spec needs a name")
	}
	e, err := m.newEntry(s)
	if err != nil {
		return fmt.Errorf("add command %q: %w", s.Name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byName[s.Name]; ok {
		return fmt.Errorf("add command %q: already registered", s.Name)
	}
	m.seq++
	e.seq = m.seq
	m.byName[s.Name] = e
	m.idx.add(e)
	return nil
}

func (m *Matcher) newEntry(s *Spec) (*entry, error) {
	g, err := Compile(s.Grammar)
	if err != nil {
		return nil, err
	}
	e := &entry{spec: s, g: g, types: make([]Type, len(g.params)), defaults: make([]string, len(g.params))}
	names := make(map[string]bool, len(g.params))
	for i, p := range g.params {
		names[p.Name] = true
		var typ Type
		if p.Values != nil {
			typ = Enum("enum", p.Values...)
		} else if typ, _ = m.types.Lookup(p.Type); typ == nil {
			return nil, fmt.Errorf("unknown type %q for argument {%s}", p.Type, p.Name)
		}
		e.types[i] = typ
		if p.Default != "" {
			if e.defaults[i], err = typ.Parse(context.Background(), p.Default); err != nil {
				return nil, fmt.Errorf("default of {%s}: %w", p.Name, err)
			}
		}
	}
	if s.ForceFlag != "" && !g.hasFlag(s.ForceFlag) {
		return nil, fmt.Errorf("force flag %q is not an optional literal of the grammar", s.ForceFlag)
	}
	for _, n := range append(placeholders(s.Permission+s.ForcePermission), s.Secret...) {
		if !names[n] {
			return nil, fmt.Errorf("argument %q named in permission or secrets is not in the grammar", n)
		}
	}
	return e, nil
}

// hasFlag reports whether the grammar can report flag name.
func (g *Grammar) hasFlag(name string) bool {
	for _, l := range g.prog.lits {
		for i := range l.e.alts {
			if l.flag && l.e.altText(i) == name {
				return true
			}
		}
	}
	return false
}

// placeholders returns the "{name}" placeholders of a permission template.
func placeholders(tmpl string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(tmpl, "{")
		if !ok {
			return out
		}
		name, after, ok := strings.Cut(rest, "}")
		if !ok {
			return out
		}
		out = append(out, name)
		tmpl = after
	}
}

// Remove unregisters a command by name; it does nothing for an unknown name.
func (m *Matcher) Remove(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byName[name]; ok {
		delete(m.byName, name)
		m.idx.remove(e)
	}
}

// Specs returns the registered commands sorted by name.
func (m *Matcher) Specs() []*Spec {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Spec, 0, len(m.byName))
	for _, e := range m.byName {
		out = append(out, e.spec)
	}
	slices.SortFunc(out, func(a, b *Spec) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Grammar returns a registered command's compiled grammar.
func (m *Matcher) Grammar(name string) (*Grammar, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if e, ok := m.byName[name]; ok {
		return e.g, true
	}
	return nil, false
}

// MaxText is the longest text (in bytes, after trimming) that Match
// considers; a longer one matches nothing.
const MaxText = 64 << 10

// Match matches text given outside any thread: commands that only work in a
// thread (Spec.Thread) are left out.
func (m *Matcher) Match(ctx context.Context, text string) Result {
	return m.MatchThread(ctx, text, "")
}

// hit is a command whose grammar matched the text.
type hit struct {
	e     *entry
	args  Args
	flags map[string]bool
	lits  int
	score int
	valid bool // its arguments passed their types
}

// MatchThread matches text given in a thread of the given kind ("" for none):
// thread commands of that kind take part, and win a tie with other commands.
//
// Among the commands that match, those whose arguments pass their type
// checks win, and of those the ones with the most literal words matched; a
// tie there is Ambiguous. Without a match, a command the text stops short of
// an argument of is reported as Missing, when it has more literal words
// matched than the best command that matched but failed a type check, which
// is otherwise reported as Invalid; failing both, Suggestions.
func (m *Matcher) MatchThread(ctx context.Context, text, thread string) Result {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > MaxText {
		return Result{}
	}
	m.mu.RLock()
	keyed, fallback := m.idx.lookup(wordKey(text))
	m.mu.RUnlock()

	var buf [4]hit
	hits := buf[:0]
	for _, list := range [2][]*entry{keyed, fallback} {
		for _, e := range list {
			if !e.in(thread) {
				continue
			}
			if args, flags, lits, ok := e.g.match(text); ok {
				score := 2 * lits
				if e.spec.Thread != "" {
					score++
				}
				hits = append(hits, hit{e: e, args: args, flags: flags, lits: lits, score: score})
			}
		}
	}
	if len(hits) > 0 {
		r, lits := decide(ctx, hits)
		if r.Invalid == nil {
			return r
		}
		// An argument missing from a more specific command beats an invalid one.
		if mr, ok := missing(ctx, keyed, text, thread, lits); ok {
			return mr
		}
		return r
	}
	if r, ok := missing(ctx, keyed, text, thread, -1); ok {
		return r
	}
	return Result{Suggestions: m.suggest(text, thread)}
}

// in reports whether the command may match in a thread of the given kind.
func (e *entry) in(thread string) bool { return e.spec.Thread == "" || e.spec.Thread == thread }

// decide picks the best hits whose arguments pass their types. Without one,
// it returns the best invalid hit and its number of literals matched.
func decide(ctx context.Context, hits []hit) (Result, int) {
	if len(hits) > 1 {
		slices.SortStableFunc(hits, func(a, b hit) int {
			return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.e.seq, b.e.seq))
		})
	}
	var invalid Result
	invalidLits := 0
	best, n := -1, 0 // the first valid hit, and how many have its score
	for i := range hits {
		h := &hits[i]
		if best >= 0 && h.score < hits[best].score {
			break
		}
		if j, err := h.e.check(ctx, h.args); err != nil {
			if invalid.Invalid == nil {
				invalid = Result{Spec: h.e.spec, Args: h.args, Flags: h.flags, Invalid: err, Choices: choices(ctx, h.e.types[j])}
				invalidLits = h.lits
			}
			continue
		}
		h.valid = true
		if best < 0 {
			best = i
		}
		n++
	}
	switch n {
	case 0:
		return invalid, invalidLits
	case 1:
		return Result{Spec: hits[best].e.spec, Args: hits[best].args, Flags: hits[best].flags}, 0
	}
	amb := make([]*Spec, 0, n)
	for _, h := range hits[best:] {
		if h.valid && h.score == hits[best].score {
			amb = append(amb, h.e.spec)
		}
	}
	return Result{Ambiguous: amb}, 0
}

// check type-checks and normalises the arguments in place, and fills in
// defaults. On failure it returns the failing parameter's index.
func (e *entry) check(ctx context.Context, args Args) (int, error) {
	for i, p := range e.g.params {
		v, ok := args[p.Name]
		if !ok {
			if e.defaults[i] != "" {
				args[p.Name] = e.defaults[i]
			}
			continue
		}
		norm, err := e.types[i].Parse(ctx, v)
		if err != nil {
			return i, &ArgError{Param: p.Name, Value: v, Err: err}
		}
		args[p.Name] = norm
	}
	return 0, nil
}

// missing finds the indexed command that text stops short of an argument of,
// preferring the one with more literal words matched; it must have more than minLits.
func missing(ctx context.Context, keyed []*entry, text, thread string, minLits int) (Result, bool) {
	var best *entry
	bestParam, bestLits := 0, minLits
	for _, e := range keyed {
		if !e.in(thread) {
			continue
		}
		if p, lits, ok := e.g.missing(text); ok && lits > bestLits {
			best, bestParam, bestLits = e, p, lits
		}
	}
	if best == nil {
		return Result{}, false
	}
	p := best.g.Params()[bestParam]
	return Result{Spec: best.spec, Missing: &p, Choices: choices(ctx, best.types[bestParam])}, true
}

// choices lists a type's values when it is an Enumerator. An error listing
// them only means there are no choices to offer.
func choices(ctx context.Context, t Type) []string {
	en, ok := t.(Enumerator)
	if !ok {
		return nil
	}
	vals, err := en.Values(ctx)
	if err != nil {
		return nil
	}
	return vals
}
