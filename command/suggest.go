package command

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxSuggestions bounds Result.Suggestions.
const maxSuggestions = 3

// suggest returns the leading words of the commands closest to text's first
// words by edit distance, closest first. It scans every command, which is
// fine on the no-match path.
func (m *Matcher) suggest(text, thread string) []string {
	fields := strings.Fields(strings.ToLower(text))
	if len(fields) == 0 {
		return nil
	}
	type cand struct {
		words string
		dist  int
	}
	var cands []cand
	seen := make(map[string]bool)
	m.mu.RLock()
	for _, e := range m.byName {
		if !e.in(thread) {
			continue
		}
		for _, lead := range e.g.leading {
			words := strings.ToLower(strings.Join(lead, " "))
			if seen[words] {
				continue
			}
			seen[words] = true
			if d, ok := leadDistance(words, len(lead), fields); ok {
				cands = append(cands, cand{strings.Join(lead, " "), d})
			}
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), strings.Compare(a.words, b.words))
	})
	out := make([]string, 0, min(len(cands), maxSuggestions))
	for _, c := range cands[:min(len(cands), maxSuggestions)] {
		out = append(out, c.words)
	}
	return out
}

// leadDistance compares a command's n leading words (lower case, joined by a
// space) with the text's first n fields; the first field is also compared by
// its word key alone, so "deplyo:migrate!" is close to "deploy". It reports
// whether the distance is small enough for a suggestion.
func leadDistance(words string, n int, fields []string) (int, bool) {
	n = min(n, len(fields))
	limit := min(3, max(1, utf8.RuneCountInString(words)/3))
	best := limit + 1
	try := func(s string) {
		if diff := utf8.RuneCountInString(s) - utf8.RuneCountInString(words); diff <= limit && -diff <= limit {
			best = min(best, osa(words, s))
		}
	}
	try(strings.Join(fields[:n], " "))
	if k := wordKey(fields[0]); k != fields[0] {
		try(strings.Join(append([]string{k}, fields[1:n]...), " "))
	}
	return best, best <= limit
}

// osa is the optimal string alignment distance between a and b, by runes:
// insertions, deletions, substitutions and transpositions of adjacent runes.
func osa(a, b string) int {
	s, t := []rune(a), []rune(b)
	prev2 := make([]int, len(t)+1)
	prev := make([]int, len(t)+1)
	cur := make([]int, len(t)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(s); i++ {
		cur[0] = i
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(t)]
}
