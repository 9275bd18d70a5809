package config

import (
	"errors"
	"fmt"
	"strings"
)

// expandEnv replaces environment references in a scalar value:
//
//	${VAR}           the value of VAR; an error when VAR is not set
//	${VAR:-default}  default when VAR is unset or empty
//	${VAR-default}   default when VAR is unset
//	${VAR:?message}  an error with message when VAR is unset or empty
//	${VAR?message}   an error with message when VAR is unset
//	$$               a literal $
//
// A $ followed by anything else is kept as it is ("costs $5"). Defaults and
// messages may themselves contain references. Errors never contain values
// taken from the environment.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := matchBrace(s, i+2)
			if end < 0 {
				return "", errBadRef
			}
			v, err := expandRef(s[i+2:end], lookup)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i = end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// errBadRef quotes nothing from the value: it may be a secret written inline.
var errBadRef = errors.New("invalid environment reference (want ${NAME}, ${NAME:-default}, or $$ for a literal $)")

// matchBrace returns the index of the } closing a ${ whose body starts at
// from, allowing nested ${…} in defaults; -1 if there is none.
func matchBrace(s string, from int) int {
	depth := 0
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '$':
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// expandRef resolves the body of one ${…}.
func expandRef(body string, lookup func(string) (string, bool)) (string, error) {
	n := 0
	for n < len(body) && isNameByte(body[n], n == 0) {
		n++
	}
	name, rest := body[:n], body[n:]
	if name == "" {
		return "", errBadRef
	}
	val, set := lookup(name)
	op := ""
	for _, o := range []string{":-", ":?", "-", "?"} {
		if strings.HasPrefix(rest, o) {
			op, rest = o, rest[len(o):]
			break
		}
	}
	if op == "" && rest != "" {
		return "", errBadRef
	}
	missing := !set || (strings.HasPrefix(op, ":") && val == "")
	switch op {
	case "":
		if !set {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return val, nil
	case ":-", "-":
		if missing {
			return expandEnv(rest, lookup)
		}
		return val, nil
	default: // ":?", "?"
		if missing {
			msg, err := expandEnv(rest, lookup)
			if err != nil {
				return "", err
			}
			what := "is not set"
			if set {
				what = "is empty"
			}
			if msg == "" {
				return "", fmt.Errorf("environment variable %s %s", name, what)
			}
			return "", fmt.Errorf("environment variable %s %s: %s", name, what, msg)
		}
		return val, nil
	}
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || !first && '0' <= c && c <= '9'
}
