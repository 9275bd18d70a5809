package command

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

type opcode uint8

const (
	opLiteral opcode = iota // match one of a literal's alternatives
	opArg                   // match an argument
	opSplit                 // optional part: try the body (next), else skip to alt
	opMatch                 // end of grammar: succeed at end of input
)

// inst is one instruction of a grammar program.
type inst struct {
	op opcode
	// sep is set when the grammar has whitespace before this element: the next
	// element consumed must then be separated from the previous one by whitespace.
	sep  bool
	slot int   // opLiteral: capture slot of the alternative matched (index+1, 0 absent)
	e    *elem // opLiteral
	// opArg: the parameter; its start and end go to slots 2*param and 2*param+1.
	param int
	rest  bool
	// opSplit: where the input continues when the part is skipped, and the
	// range of parameters [lo, hi) inside the part.
	alt, lo, hi int
}

// program is a grammar compiled to instructions, run by a memoised backtracker.
type program struct {
	insts   []inst
	nparams int
	lits    []litInfo // per literal slot, after the 2*nparams argument slots
}

type litInfo struct {
	e *elem
	// flag is set for a literal reported in flags: optional, or with alternatives.
	flag bool
}

func compileProgram(root []elem, params []Param) *program {
	p := &program{nparams: len(params)}
	next := 0
	p.emit(root, params, false, &next)
	p.insts = append(p.insts, inst{op: opMatch})
	return p
}

func (p *program) emit(seq []elem, params []Param, optional bool, next *int) {
	for i := range seq {
		e := &seq[i]
		switch e.kind {
		case kindLiteral:
			p.lits = append(p.lits, litInfo{e: e, flag: optional || len(e.alts) > 1})
			p.insts = append(p.insts, inst{op: opLiteral, sep: e.sep, e: e, slot: 2*p.nparams + len(p.lits) - 1})
		case kindArg:
			p.insts = append(p.insts, inst{op: opArg, sep: e.sep, param: e.param, rest: params[e.param].Rest})
			*next = e.param + 1
		case kindOptional:
			at := len(p.insts)
			p.insts = append(p.insts, inst{op: opSplit, sep: e.sep, lo: *next})
			p.emit(e.body, params, true, next)
			p.insts[at].alt = len(p.insts)
			p.insts[at].hi = *next
		}
	}
}

// scratch is the reusable state of one run.
type scratch struct {
	visited []uint64
	slots   []int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooledWords bounds the memo kept in the pool after a long text.
const maxPooledWords = 1 << 12

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.visited) > maxPooledWords {
		s.visited = nil
	}
	scratchPool.Put(s)
}

// run is one execution of a program over a text.
type run struct {
	p      *program
	text   string
	target int // -1: match the whole text; else succeed where this parameter would start at the end
	sc     *scratch
}

// Memo states per instruction: entered without and with a pending separator,
// and an argument's lazy loop.
const (
	stateNoSep = iota
	stateSep
	stateLoop
	statesPerInst
)

// exec runs the program over text (already trimmed). With target >= 0 it
// matches a prefix of the grammar up to that parameter, which must come at the
// end of text, entering every optional part that contains it. The captures are
// left in sc.slots.
func (p *program) exec(sc *scratch, text string, target int) bool {
	n := statesPerInst * len(p.insts) * (len(text) + 1)
	words := (n + 63) / 64
	if cap(sc.visited) < words {
		sc.visited = make([]uint64, words)
	} else {
		sc.visited = sc.visited[:words]
		clear(sc.visited)
	}
	nslots := 2*p.nparams + len(p.lits)
	if cap(sc.slots) < nslots {
		sc.slots = make([]int, nslots)
	}
	sc.slots = sc.slots[:nslots]
	args, lits := sc.slots[:2*p.nparams], sc.slots[2*p.nparams:]
	for i := range args {
		args[i] = -1
	}
	clear(lits)
	r := run{p: p, text: text, target: target, sc: sc}
	return r.try(0, 0, false)
}

// seen marks a state as visited and reports whether it already was.
func (r *run) seen(pc, state, pos int) bool {
	i := (pc*statesPerInst+state)*(len(r.text)+1) + pos
	w, b := i/64, uint64(1)<<(i%64)
	if r.sc.visited[w]&b != 0 {
		return true
	}
	r.sc.visited[w] |= b
	return false
}

func (r *run) try(pc, pos int, pending bool) bool {
	for {
		in := &r.p.insts[pc]
		pending = pending || in.sep
		state := stateNoSep
		if pending {
			state = stateSep
		}
		if r.seen(pc, state, pos) {
			return false
		}
		switch in.op {
		case opMatch:
			return r.target < 0 && pos == len(r.text)
		case opSplit:
			if r.target >= 0 && in.lo <= r.target && r.target < in.hi {
				pc++
				continue
			}
			if r.try(pc+1, pos, pending) {
				return true
			}
			pc = in.alt
		case opLiteral:
			return r.literal(pc, in, pos, pending)
		case opArg:
			if in.param == r.target {
				return pos == len(r.text)
			}
			return r.arg(pc, in, pos, pending)
		}
	}
}

// space consumes the separator before an element: whitespace when one is
// pending and something came before, none otherwise.
func (r *run) space(pos int, pending bool) (int, bool) {
	n := spaces(r.text[pos:])
	switch {
	case pos == 0:
		return pos, true
	case pending:
		return pos + n, n > 0
	default:
		return pos, n == 0
	}
}

func (r *run) literal(pc int, in *inst, pos int, pending bool) bool {
	pos, ok := r.space(pos, pending)
	if !ok {
		return false
	}
	for i, words := range in.e.alts {
		n, ok := matchPhrase(r.text[pos:], words)
		if !ok {
			continue
		}
		r.sc.slots[in.slot] = i + 1
		if r.try(pc+1, pos+n, false) {
			return true
		}
		r.sc.slots[in.slot] = 0
	}
	return false
}

func (r *run) arg(pc int, in *inst, pos int, pending bool) bool {
	pos, ok := r.space(pos, pending)
	if !ok || pos >= len(r.text) {
		return false
	}
	s, e := 2*in.param, 2*in.param+1
	if in.rest {
		r.sc.slots[s], r.sc.slots[e] = pos, len(r.text)
		if r.try(pc+1, len(r.text), false) {
			return true
		}
		r.sc.slots[s], r.sc.slots[e] = -1, -1
		return false
	}
	if start, end, after, ok := quoted(r.text, pos); ok {
		r.sc.slots[s], r.sc.slots[e] = start, end
		if r.try(pc+1, after, false) {
			return true
		}
	}
	// Unquoted: the shortest run of non-space characters after which the rest
	// matches. A loop position already seen was tried from there on.
	r.sc.slots[s] = pos
	for end := pos; end < len(r.text); {
		c, w := utf8.DecodeRuneInString(r.text[end:])
		if unicode.IsSpace(c) {
			break
		}
		end += w
		if r.seen(pc, stateLoop, end) {
			break
		}
		r.sc.slots[e] = end
		if r.try(pc+1, end, false) {
			return true
		}
	}
	r.sc.slots[s], r.sc.slots[e] = -1, -1
	return false
}

// quoted reports a double-quoted value at pos ("…" or “…”): the value's
// bounds and where the input continues after the closing quote.
func quoted(text string, pos int) (start, end, after int, ok bool) {
	c, w := utf8.DecodeRuneInString(text[pos:])
	if c != '"' && c != '“' {
		return 0, 0, 0, false
	}
	start = pos + w
	for i, c := range text[start:] {
		if c == '"' || c == '”' {
			if i == 0 {
				return 0, 0, 0, false
			}
			return start, start + i, start + i + utf8.RuneLen(c), true
		}
	}
	return 0, 0, 0, false
}

// spaces returns the length of the leading whitespace of s.
func spaces(s string) int {
	for i, c := range s {
		if !unicode.IsSpace(c) {
			return i
		}
	}
	return len(s)
}

// matchPhrase matches words at the start of s, case-insensitively, separated
// by whitespace, and returns the length matched.
func matchPhrase(s string, words []string) (int, bool) {
	n := 0
	for i, w := range words {
		if i > 0 {
			sp := spaces(s[n:])
			if sp == 0 {
				return 0, false
			}
			n += sp
		}
		m, ok := prefixFold(s[n:], w)
		if !ok {
			return 0, false
		}
		n += m
	}
	return n, true
}

// prefixFold reports whether s starts with prefix under simple Unicode case
// folding, and the number of bytes of s that matched.
func prefixFold(s, prefix string) (int, bool) {
	i := 0
	for _, pr := range prefix {
		if i >= len(s) {
			return 0, false
		}
		if c := s[i]; c < utf8.RuneSelf && pr < utf8.RuneSelf {
			if lowerASCII(c) != lowerASCII(byte(pr)) {
				return 0, false
			}
			i++
			continue
		}
		sr, w := utf8.DecodeRuneInString(s[i:])
		if !equalFold(sr, pr) {
			return 0, false
		}
		i += w
	}
	return i, true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func equalFold(a, b rune) bool {
	if a == b {
		return true
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}
