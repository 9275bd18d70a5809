package command

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// index finds the commands a text may match by its first word: a map from
// lower-cased word keys to the commands starting with that literal, and a
// short fallback list of commands that start with an argument or an optional
// part, scanned on every match.
//
// Its slices are copy-on-write: a reader may keep one after releasing the
// matcher's lock.
type index struct {
	byKey    map[string][]*entry
	fallback []*entry
}

func (x *index) add(e *entry) {
	if x.byKey == nil {
		x.byKey = make(map[string][]*entry)
	}
	if len(e.g.keys) == 0 {
		x.fallback = appendCopy(x.fallback, e)
		return
	}
	for _, k := range e.g.keys {
		if !slices.Contains(x.byKey[k], e) {
			x.byKey[k] = appendCopy(x.byKey[k], e)
		}
	}
}

func (x *index) remove(e *entry) {
	if len(e.g.keys) == 0 {
		x.fallback = deleteCopy(x.fallback, e)
		return
	}
	for _, k := range e.g.keys {
		if l := deleteCopy(x.byKey[k], e); len(l) > 0 {
			x.byKey[k] = l
		} else {
			delete(x.byKey, k)
		}
	}
}

// lookup returns the indexed candidates for a text's word key and the fallback list.
func (x *index) lookup(key string) (keyed, fallback []*entry) {
	return x.byKey[key], x.fallback
}

func appendCopy(l []*entry, e *entry) []*entry {
	out := make([]*entry, len(l), len(l)+1)
	copy(out, l)
	return append(out, e)
}

func deleteCopy(l []*entry, e *entry) []*entry {
	out := make([]*entry, 0, len(l))
	for _, x := range l {
		if x != e {
			out = append(out, x)
		}
	}
	return out
}

// wordKey returns the index key of s: its leading run of word characters
// (letters, digits, "_" and "-"), or its first character when it starts with
// another, case-folded (see foldKey). "deploy:migrate!" and "Deploy" both
// have the key "deploy".
func wordKey(s string) string {
	end := 0
	for end < len(s) {
		r, w := utf8.DecodeRuneInString(s[end:])
		if !isWordRune(r) {
			break
		}
		end += w
	}
	if end == 0 && s != "" {
		_, end = utf8.DecodeRuneInString(s)
	}
	return foldKey(s[:end])
}

// foldKey maps s to a canonical case: each rune to the lower-case ASCII
// letter of its simple case-folding orbit if it has one, else to the orbit's
// smallest rune, so that strings equal under case folding ("ſ" and "S") have
// the same key. It does not allocate for lower-case ASCII.
func foldKey(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(lowerASCII(byte(r)))
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return rune(lowerASCII(byte(f)))
		}
		least = min(least, f)
	}
	return least
}
