package command

import (
	"strings"
	"unicode"
)

// Grammar is a compiled command grammar such as
// "deploy[:{task}][!] {app}[/{ref}] [to|in|on {env}[/{hosts}]]".
//
// The syntax:
//   - a literal word matches itself, case-insensitively; "a|b" (no spaces) and
//     "(a|b c)" match one of several literals (a grouped alternative may be a phrase);
//   - "[...]" is an optional part, and may nest;
//   - "{name}", "{name:type}", "{name:type=default}" and "{name:enum(a|b)}" are
//     typed arguments; an argument with a default may be left out;
//   - "{name...}" takes the rest of the line and must come last;
//   - whitespace means one or more whitespace characters in the input; no
//     whitespace between two elements means they are adjacent. Where optional
//     parts are left out, the elements that remain need whitespace between
//     them if the grammar has any there ("x [a]b" matches "x b" and "x ab").
//
// A single-word argument takes non-space characters but stops before an
// adjacent literal that follows it, or is given "double quoted" with spaces.
// Optional literals that are present, and the alternative typed where there is
// a choice, are reported as flags.
//
// Matching is a memoised backtracking search over the grammar's elements and
// the input's positions, so it takes time proportional to their product at
// worst, never exponential. A Grammar is safe for concurrent use.
type Grammar struct {
	src     string
	root    []elem
	params  []Param
	prog    *program
	leading [][]string
	keys    []string // index keys: case-folded first words; nil when not indexable
}

// Param describes a grammar argument.
type Param struct {
	Name    string
	Type    string   // type name; "string" when not given
	Default string   // filled in when the argument is absent
	Values  []string // an inline enum's values
	// Required is set for an argument outside any optional part without a default.
	Required bool
	// Rest is set for a rest-of-line argument, "{name...}".
	Rest bool
}

// Compile parses a grammar.
func Compile(src string) (*Grammar, error) {
	root, params, err := parseGrammar(src)
	if err != nil {
		return nil, err
	}
	markRequired(root, params, false)
	g := &Grammar{src: src, root: root, params: params, prog: compileProgram(root, params)}
	g.leading = leadingWords(root)
	g.keys = indexKeys(root)
	return g, nil
}

func markRequired(seq []elem, params []Param, optional bool) {
	for i := range seq {
		switch e := &seq[i]; e.kind {
		case kindArg:
			params[e.param].Required = !optional && params[e.param].Default == ""
		case kindOptional:
			markRequired(e.body, params, true)
		}
	}
}

// String returns the grammar's source.
func (g *Grammar) String() string { return g.src }

// Params returns the grammar's arguments in order of appearance.
func (g *Grammar) Params() []Param {
	out := make([]Param, len(g.params))
	copy(out, g.params)
	for i := range out {
		out[i].Values = append([]string(nil), out[i].Values...)
	}
	return out
}

// Leading returns the literal word sequences the grammar can start with: one
// per alternative, each as many words as the grammar has before its first
// argument or optional part. It is nil for a grammar starting with an argument
// or an optional part.
func (g *Grammar) Leading() [][]string {
	out := make([][]string, len(g.leading))
	for i, ws := range g.leading {
		out[i] = append([]string(nil), ws...)
	}
	return out
}

// Match matches text against the grammar and returns the raw argument values
// (quotes removed, defaults filled in, not type-checked) and the flags (nil
// when none is present).
func (g *Grammar) Match(text string) (Args, map[string]bool, bool) {
	args, flags, _, ok := g.match(strings.TrimSpace(text))
	if !ok {
		return nil, nil, false
	}
	for _, p := range g.params {
		if _, given := args[p.Name]; !given && p.Default != "" {
			args[p.Name] = p.Default
		}
	}
	return args, flags, true
}

// match matches trimmed text and returns the arguments given (without
// defaults), the flags and the number of literals matched.
func (g *Grammar) match(text string) (Args, map[string]bool, int, bool) {
	sc := getScratch()
	defer putScratch(sc)
	if !g.prog.exec(sc, text, -1) {
		return nil, nil, 0, false
	}
	args := make(Args, len(g.params))
	for i, p := range g.params {
		if start := sc.slots[2*i]; start >= 0 {
			args[p.Name] = text[start:sc.slots[2*i+1]]
		}
	}
	var flags map[string]bool
	lits := 0
	for i, l := range g.prog.lits {
		alt := sc.slots[2*len(g.params)+i]
		if alt == 0 {
			continue
		}
		lits++
		if l.flag {
			if flags == nil {
				flags = make(map[string]bool)
			}
			flags[l.e.altText(alt-1)] = true
		}
	}
	return args, flags, lits, true
}

// missing reports the first argument without a default that the text stops
// just before, and the number of literals matched up to it.
func (g *Grammar) missing(text string) (param, lits int, ok bool) {
	sc := getScratch()
	defer putScratch(sc)
	for i, p := range g.params {
		if p.Default != "" || !g.prog.exec(sc, text, i) {
			continue
		}
		for j := range g.prog.lits {
			if sc.slots[2*len(g.params)+j] != 0 {
				lits++
			}
		}
		return i, lits, true
	}
	return 0, 0, false
}

// Usage returns a help line generated from the grammar, with arguments in
// upper case: "deploy[:TASK][!] APP[/REF] [to|in|on ENV[/HOSTS]]".
func (g *Grammar) Usage() string {
	var b strings.Builder
	g.usage(&b, g.root)
	return b.String()
}

func (g *Grammar) usage(b *strings.Builder, seq []elem) {
	for i := range seq {
		e := &seq[i]
		if e.sep {
			b.WriteByte(' ')
		}
		switch e.kind {
		case kindLiteral:
			alts := make([]string, len(e.alts))
			for j := range e.alts {
				alts[j] = e.altText(j)
			}
			if e.grouped {
				b.WriteString("(" + strings.Join(alts, "|") + ")")
			} else {
				b.WriteString(strings.Join(alts, "|"))
			}
		case kindArg:
			b.WriteString(g.argUsage(g.params[e.param]))
		case kindOptional:
			b.WriteByte('[')
			if e.implicit {
				p := g.params[e.body[0].param]
				b.WriteString(g.argUsage(p) + "=" + p.Default)
			} else {
				g.usage(b, e.body)
			}
			b.WriteByte(']')
		}
	}
}

func (g *Grammar) argUsage(p Param) string {
	if len(p.Values) > 0 {
		return "(" + strings.Join(p.Values, "|") + ")"
	}
	s := strings.ToUpper(p.Name)
	if p.Rest {
		s += "..."
	}
	return s
}

// maxLeading bounds how many leading word sequences alternatives may expand to.
const maxLeading = 32

// leadingWords computes Grammar.Leading: the literal words at the start of the
// grammar, separated by whitespace, stopping at the first non-literal or after
// a literal that is adjacent to what follows it.
func leadingWords(root []elem) [][]string {
	var seqs [][]string
	for i := range root {
		e := &root[i]
		if e.kind != kindLiteral || (i > 0 && !e.sep) {
			break
		}
		if seqs != nil && len(seqs)*len(e.alts) > maxLeading {
			break
		}
		seqs = extend(seqs, e.alts)
		if i+1 < len(root) && !root[i+1].sep {
			break
		}
	}
	return seqs
}

func extend(seqs [][]string, alts [][]string) [][]string {
	if seqs == nil {
		seqs = [][]string{nil}
	}
	out := make([][]string, 0, len(seqs)*len(alts))
	for _, s := range seqs {
		for _, a := range alts {
			out = append(out, append(append([]string(nil), s...), a...))
		}
	}
	return out
}

// indexKeys returns the index keys of a grammar that starts with a literal:
// the lower-cased word key (see wordKey) of each alternative's first word. It
// returns nil when the grammar does not start with a literal, or when input
// matching it could have a different word key (the literal is all word
// characters and may be followed directly by more word characters).
func indexKeys(root []elem) []string {
	first := &root[0]
	if first.kind != kindLiteral {
		return nil
	}
	keys := make([]string, 0, len(first.alts))
	for _, alt := range first.alts {
		k := wordKey(alt[0])
		if len(alt) == 1 && len(k) == len(alt[0]) && mayStartWord(root[1:]) {
			return nil
		}
		keys = append(keys, k)
	}
	return keys
}

// mayStartWord reports whether the input matched by seq may start with a word
// character (conservatively: an argument may).
func mayStartWord(seq []elem) bool {
	for i := range seq {
		e := &seq[i]
		switch {
		case e.sep && e.kind != kindOptional:
			return false
		case e.kind == kindLiteral:
			for _, a := range e.alts {
				if r := []rune(a[0]); isWordRune(r[0]) {
					return true
				}
			}
			return false
		case e.kind == kindArg:
			return true
		case !e.sep && mayStartWord(e.body):
			return true
		}
	}
	return false
}

// isWordRune reports whether r belongs to a command word for indexing.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-'
}
