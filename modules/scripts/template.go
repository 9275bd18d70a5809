package scripts

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// A template is a string with {name} placeholders: "--user={user}". A
// placeholder is "{", a name of letters, digits, "_" or "-" starting with a
// letter or "_", and "}"; any other "{" is literal, so JSON bodies need no
// escaping. "{{" is a literal "{" where one must precede a name.
//
// Expansion never splits or joins argv elements and never involves a shell:
// a value is inserted as it is (argv), URL-escaped (URLs) or JSON-escaped
// (JSON bodies).

// segment is a literal or a placeholder.
type segment struct {
	lit  string
	name string // placeholder name when lit is ""
}

type template []segment

// parseTemplate splits s into literals and placeholders.
func parseTemplate(s string) template {
	var out template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, segment{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '{' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "{{") {
			lit.WriteByte('{')
			i += 2
			continue
		}
		if n := placeholderLen(s[i+1:]); n > 0 {
			flush()
			out = append(out, segment{name: s[i+1 : i+1+n]})
			i += n + 2
			continue
		}
		lit.WriteByte('{')
		i++
	}
	flush()
	return out
}

// placeholderLen returns the length of the name in s (which starts after a
// "{") when a valid name is followed by "}", else 0.
func placeholderLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '}':
			return i
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && (c == '-' || '0' <= c && c <= '9'):
		default:
			return 0
		}
	}
	return 0
}

// names returns the placeholders of t.
func (t template) names() []string {
	var out []string
	for _, s := range t {
		if s.name != "" {
			out = append(out, s.name)
		}
	}
	return out
}

// onlyPlaceholder reports whether t is one placeholder and nothing else.
func (t template) onlyPlaceholder() bool { return len(t) == 1 && t[0].name != "" }

// expand fills t with vals, passing each value through esc.
func (t template) expand(vals map[string]string, esc func(string) string) string {
	var b strings.Builder
	for _, s := range t {
		if s.name == "" {
			b.WriteString(s.lit)
			continue
		}
		v := vals[s.name]
		if esc != nil {
			v = esc(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// expandArgv builds the argument vector: one element per template element,
// whatever the values contain. An element that is a single placeholder whose
// value is empty (an optional argument left out) is dropped, so that an
// absent option does not become an empty argument.
func expandArgv(tmpls []template, vals map[string]string) []string {
	out := make([]string, 0, len(tmpls))
	for _, t := range tmpls {
		if t.onlyPlaceholder() && vals[t[0].name] == "" {
			continue
		}
		out = append(out, t.expand(vals, nil))
	}
	return out
}

// expandURL fills a URL template: values are path-escaped before the "?" and
// query-escaped after it, so a value can't add path segments or parameters.
func expandURL(t template, vals map[string]string) string {
	var b strings.Builder
	inQuery := false
	for _, s := range t {
		if s.name == "" {
			b.WriteString(s.lit)
			if strings.ContainsAny(s.lit, "?#") {
				inQuery = true
			}
			continue
		}
		if inQuery {
			b.WriteString(url.QueryEscape(vals[s.name]))
		} else {
			b.WriteString(url.PathEscape(vals[s.name]))
		}
	}
	return b.String()
}

// bodyEscaper is how values are inserted in a request body of contentType.
func bodyEscaper(contentType string) func(string) string {
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "json"):
		return jsonStringContent
	case strings.Contains(ct, "x-www-form-urlencoded"):
		return url.QueryEscape
	}
	return nil
}

// jsonStringContent escapes s for use inside a JSON string literal.
func jsonStringContent(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b[1 : len(b)-1])
}

// checkNames reports the first placeholder of t that is not in known.
func checkNames(t template, known map[string]bool) error {
	for _, n := range t.names() {
		if !known[n] {
			return fmt.Errorf("unknown placeholder {%s}", n)
		}
	}
	return nil
}
