package command

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNesting bounds how deeply optional parts may nest.
const maxNesting = 16

type elemKind int

const (
	kindLiteral elemKind = iota
	kindArg
	kindOptional
)

// elem is one element of a parsed grammar.
type elem struct {
	kind elemKind
	// sep is set when the grammar has whitespace before the element.
	sep bool
	// col is the element's 1-based column in the grammar, for errors.
	col int

	// alts are a literal's alternatives, each a phrase of one or more words.
	alts [][]string
	// grouped is set for alternatives written as "(a|b)".
	grouped bool

	// param is an argument's index in Grammar.params.
	param int

	// body is an optional part's content.
	body []elem
	// implicit marks the optional part made for an argument with a default.
	implicit bool
}

// altText is the canonical text of alternative i (words joined by a space).
func (e *elem) altText(i int) string { return strings.Join(e.alts[i], " ") }

// parser is a recursive-descent parser over a grammar's runes.
type parser struct {
	src    string
	runes  []rune
	pos    int
	params []Param
	names  map[string]bool
}

// SyntaxError is a grammar compile error at a column.
type SyntaxError struct {
	Grammar string
	Column  int // 1-based, in runes
	Msg     string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("grammar %q: %s at column %d", e.Grammar, e.Msg, e.Column)
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return &SyntaxError{Grammar: p.src, Column: pos + 1, Msg: fmt.Sprintf(format, args...)}
}

func parseGrammar(src string) ([]elem, []Param, error) {
	if !utf8.ValidString(src) {
		return nil, nil, fmt.Errorf("grammar %q: invalid UTF-8", src)
	}
	p := &parser{src: src, runes: []rune(src), names: map[string]bool{}}
	root, _, err := p.sequence(0, -1)
	if err != nil {
		return nil, nil, err
	}
	if len(root) == 0 {
		return nil, nil, fmt.Errorf("grammar %q: empty", src)
	}
	root[0].sep = false
	if err := p.checkRest(root, true); err != nil {
		return nil, nil, err
	}
	return root, p.params, nil
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

// isLiteralRune reports whether r may appear in a literal word.
func isLiteralRune(r rune) bool {
	switch r {
	case '[', ']', '{', '}', '(', ')', '|':
		return false
	}
	return !isSpace(r)
}

// sequence parses elements until end of input or the closing "]" of the
// optional part opened at open (-1 at top level). It returns the elements and
// whether whitespace preceded the closing bracket.
func (p *parser) sequence(depth, open int) ([]elem, bool, error) {
	var out []elem
	sep := false
	for p.pos < len(p.runes) {
		r := p.runes[p.pos]
		start := p.pos
		switch {
		case isSpace(r):
			p.pos++
			sep = true
			continue
		case r == ']':
			if open < 0 {
				return nil, false, p.errorf(start, "unexpected %q", string(r))
			}
			p.pos++
			if len(out) == 0 {
				return nil, false, p.errorf(open, "empty optional part")
			}
			return out, sep, nil
		case r == '[':
			if depth >= maxNesting {
				return nil, false, p.errorf(start, "optional parts nested too deeply")
			}
			p.pos++
			body, trailing, err := p.sequence(depth+1, start)
			if err != nil {
				return nil, false, err
			}
			e := elem{kind: kindOptional, sep: sep || body[0].sep, col: start + 1, body: body}
			e.body[0].sep = false
			out = append(out, e)
			sep = trailing
			continue
		case r == '{':
			e, err := p.argument()
			if err != nil {
				return nil, false, err
			}
			if n := len(out); n > 0 && !sep && out[n-1].kind == kindArg {
				return nil, false, p.errorf(start, "argument must not directly follow another argument")
			}
			e.sep = sep
			out = append(out, e)
		case r == '(':
			e, err := p.group()
			if err != nil {
				return nil, false, err
			}
			e.sep = sep
			out = append(out, e)
		case isLiteralRune(r):
			e, err := p.bareLiteral()
			if err != nil {
				return nil, false, err
			}
			e.sep = sep
			out = append(out, e)
		default:
			return nil, false, p.errorf(start, "unexpected %q", string(r))
		}
		sep = false
	}
	if open >= 0 {
		return nil, false, p.errorf(open, "unclosed %q", "[")
	}
	return out, false, nil
}

// word reads a run of literal runes.
func (p *parser) word() string {
	start := p.pos
	for p.pos < len(p.runes) && isLiteralRune(p.runes[p.pos]) {
		p.pos++
	}
	return string(p.runes[start:p.pos])
}

// bareLiteral parses "word" or "a|b|c" (no spaces around "|").
func (p *parser) bareLiteral() (elem, error) {
	e := elem{kind: kindLiteral, col: p.pos + 1}
	for {
		w := p.word()
		if w == "" {
			return elem{}, p.errorf(p.pos, "empty alternative")
		}
		e.alts = append(e.alts, []string{w})
		if p.pos >= len(p.runes) || p.runes[p.pos] != '|' {
			return e, nil
		}
		p.pos++
	}
}

// group parses "(a|b c|d)": alternatives that may be phrases of several words.
func (p *parser) group() (elem, error) {
	open := p.pos
	p.pos++
	e := elem{kind: kindLiteral, col: open + 1, grouped: true}
	var phrase []string
	for {
		if p.pos >= len(p.runes) {
			return elem{}, p.errorf(open, "unclosed %q", "(")
		}
		r := p.runes[p.pos]
		switch {
		case isSpace(r):
			p.pos++
		case r == '|' || r == ')':
			if len(phrase) == 0 {
				return elem{}, p.errorf(p.pos, "empty alternative")
			}
			e.alts = append(e.alts, phrase)
			phrase = nil
			p.pos++
			if r == ')' {
				return e, nil
			}
		case isLiteralRune(r):
			phrase = append(phrase, p.word())
		default:
			return elem{}, p.errorf(p.pos, "unexpected %q in alternatives", string(r))
		}
	}
}

// argument parses "{name}", "{name:type}", "{name:type=default}",
// "{name:enum(a|b)}" and "{name...}". An argument with a default is returned
// wrapped in an implicit optional part.
func (p *parser) argument() (elem, error) {
	open := p.pos
	end := open + 1
	for end < len(p.runes) && p.runes[end] != '}' {
		if p.runes[end] == '{' {
			return elem{}, p.errorf(end, "unexpected %q in argument", "{")
		}
		end++
	}
	if end >= len(p.runes) {
		return elem{}, p.errorf(open, "unclosed %q", "{")
	}
	p.pos = end + 1
	inner := string(p.runes[open+1 : end])
	par, err := p.param(inner, open)
	if err != nil {
		return elem{}, err
	}
	if p.names[par.Name] {
		return elem{}, p.errorf(open, "duplicate argument %q", par.Name)
	}
	p.names[par.Name] = true
	p.params = append(p.params, par)
	arg := elem{kind: kindArg, col: open + 1, param: len(p.params) - 1}
	if par.Default == "" {
		return arg, nil
	}
	return elem{kind: kindOptional, col: open + 1, body: []elem{arg}, implicit: true}, nil
}

// param parses the inside of "{...}".
func (p *parser) param(inner string, open int) (Param, error) {
	var par Param
	if i := strings.IndexByte(inner, '='); i >= 0 {
		par.Default = inner[i+1:]
		inner = inner[:i]
		if par.Default == "" {
			return Param{}, p.errorf(open, "empty default")
		}
	}
	if s, ok := strings.CutSuffix(inner, "..."); ok {
		par.Rest = true
		inner = s
	}
	name, typ, hasType := strings.Cut(inner, ":")
	if !validName(name) {
		return Param{}, p.errorf(open, "invalid argument name %q", name)
	}
	par.Name = name
	par.Type = "string"
	if !hasType {
		return par, nil
	}
	typ, values, hasValues := strings.Cut(typ, "(")
	if !validName(typ) {
		return Param{}, p.errorf(open, "invalid type name %q", typ)
	}
	par.Type = typ
	switch {
	case hasValues && typ != "enum":
		return Param{}, p.errorf(open, "type %q takes no values", typ)
	case !hasValues && typ == "enum":
		return Param{}, p.errorf(open, "enum needs values, as in {%s:enum(a|b)}", name)
	case hasValues:
		list, ok := strings.CutSuffix(values, ")")
		if !ok {
			return Param{}, p.errorf(open, "unclosed %q in enum", "(")
		}
		for v := range strings.SplitSeq(list, "|") {
			v = strings.TrimSpace(v)
			if v == "" || strings.ContainsAny(v, "()") {
				return Param{}, p.errorf(open, "invalid enum value %q", v)
			}
			par.Values = append(par.Values, v)
		}
	}
	return par, nil
}

// validName reports whether s is a valid argument or type name:
// a letter or "_" followed by letters, digits, "_" or "-".
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := unicode.IsLetter(r) || r == '_'
		if !letter && (i == 0 || !unicode.IsDigit(r) && r != '-') {
			return false
		}
	}
	return true
}

// checkRest verifies that a rest-of-line argument is the last element of the
// grammar. last says whether seq is itself at the end of the grammar.
func (p *parser) checkRest(seq []elem, last bool) error {
	for i := range seq {
		e := &seq[i]
		isLast := last && i == len(seq)-1
		switch e.kind {
		case kindArg:
			if par := p.params[e.param]; par.Rest && !isLast {
				return p.errorf(e.col-1, "rest argument {%s...} must be last", par.Name)
			}
		case kindOptional:
			if err := p.checkRest(e.body, isLast); err != nil {
				return err
			}
		}
	}
	return nil
}
