package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// fillers are words people put around an instance's name that say nothing
// about which one they mean.
var fillers = map[string]bool{"the": true, "on": true, "of": true, "for": true, "instance": true, "server": true, "at": true}

// ErrAmbiguous is a text that names several instances.
type ErrAmbiguous struct {
	Text       string
	Candidates []string
}

func (e *ErrAmbiguous) Error() string {
	return fmt.Sprintf("%q matches several instances: %s. Add a word that tells them apart, e.g. %q",
		e.Text, strings.Join(e.Candidates, ", "), e.Candidates[0])
}

// ErrUnknown is a text that names no instance.
type ErrUnknown struct {
	Text  string
	Known []string
	// Context is set when words matched but the context word ("active")
	// left none.
	Context string
}

func (e *ErrUnknown) Error() string {
	if e.Context != "" {
		return fmt.Sprintf("no %s instance matches %q", e.Context, e.Text)
	}
	return fmt.Sprintf("%q is not a known instance (known: %s)", e.Text, strings.Join(e.Known, ", "))
}

// ActiveFunc tells whether an instance takes traffic now.
type ActiveFunc func(ctx context.Context, in Instance) (bool, error)

// words splits text into lower-case words; punctuation other than '-', '_',
// '.' and ':' (icons such as ":blue_circle:") separates words.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == ';' || r == '/' || r == '(' || r == ')' || r == '"' || r == '\''
	})
}

// phrases are the word sequences that name an instance: its name, the parts
// of its name, its aliases and its app's, its app, environment, role and icon.
func phrases(in Instance, appAliases []string) [][]string {
	var out [][]string
	add := func(s string) {
		if w := words(s); len(w) > 0 {
			out = append(out, w)
		}
	}
	add(in.Name)
	for p := range strings.FieldsFuncSeq(in.Name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		add(p)
	}
	for _, a := range in.Aliases {
		add(a)
	}
	for _, a := range appAliases {
		add(a)
	}
	add(in.App)
	add(in.Env)
	add(in.Role)
	add(in.Icon)
	// Longest first, so "roi hunter" is taken before "roi".
	slices.SortStableFunc(out, func(a, b []string) int { return len(b) - len(a) })
	return out
}

// covers reports whether every word is part of one of the instance's phrases.
func covers(ws []string, ps [][]string) bool {
	for i := 0; i < len(ws); {
		n := 0
		for _, p := range ps {
			if len(p) <= len(ws)-i && slices.Equal(p, ws[i:i+len(p)]) {
				n = len(p)
				break
			}
		}
		if n == 0 {
			return false
		}
		i += n
	}
	return true
}

// Resolver finds instances from words; it prepares each instance's
// phrases once.
type Resolver struct {
	ins     []Instance
	phrases [][][]string
	known   []string
}

// NewResolver prepares ins for Resolve; appAliases gives an app's aliases.
func NewResolver(ins []Instance, appAliases func(app string) []string) *Resolver {
	r := &Resolver{ins: ins, phrases: make([][][]string, len(ins)), known: make([]string, len(ins))}
	for i, in := range ins {
		r.phrases[i] = phrases(in, appAliases(in.App))
		r.known[i] = in.Name
	}
	return r
}

// Resolve finds the one instance text names: by name or alias, by words in
// any order ("master blue", "blue rh", "roi hunter green"), narrowed by a
// context word ("active", "inactive"). appAliases gives an app's aliases;
// active is asked only when a context word is used.
func Resolve(ctx context.Context, text string, ins []Instance, appAliases func(app string) []string, active ActiveFunc) (Instance, error) {
	return NewResolver(ins, appAliases).Resolve(ctx, text, active)
}

// Resolve finds the one instance text names (see the function Resolve).
func (r *Resolver) Resolve(ctx context.Context, text string, active ActiveFunc) (Instance, error) {
	all := words(text)
	known := r.known
	if len(all) == 0 {
		return Instance{}, &ErrUnknown{Text: text, Known: known}
	}
	// An exact name wins outright.
	for _, in := range r.ins {
		if strings.EqualFold(strings.TrimSpace(text), in.Name) {
			return in, nil
		}
	}
	var ws []string
	want, ctxWord := true, ""
	for _, w := range all {
		if a, ok := ContextWords[w]; ok {
			want, ctxWord = a, w
			continue
		}
		if !fillers[w] {
			ws = append(ws, w)
		}
	}
	var cands []Instance
	for i, in := range r.ins {
		if covers(ws, r.phrases[i]) {
			cands = append(cands, in)
		}
	}
	if len(cands) == 0 {
		return Instance{}, &ErrUnknown{Text: text, Known: known}
	}
	if ctxWord != "" {
		var kept []Instance
		for _, in := range cands {
			a, err := active(ctx, in)
			if err != nil {
				return Instance{}, fmt.Errorf("cannot tell whether %s is active: %w", in.Name, err)
			}
			if a == want {
				kept = append(kept, in)
			}
		}
		if len(kept) == 0 {
			return Instance{}, &ErrUnknown{Text: strings.Join(ws, " "), Known: known, Context: ctxWord}
		}
		cands = kept
	}
	if len(cands) > 1 {
		names := make([]string, len(cands))
		for i, in := range cands {
			names[i] = in.Name
		}
		return Instance{}, &ErrAmbiguous{Text: strings.TrimSpace(text), Candidates: names}
	}
	return cands[0], nil
}
