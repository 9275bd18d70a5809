package command

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/opsbot/opsbot/clock"
)

func builtinTypes() []Type {
	return []Type{
		TypeFunc("string", parseString),
		TypeFunc("int", parseInt),
		TypeFunc("duration", parseDuration),
		TypeFunc("time", parseTime),
		TypeFunc("date", parseDate),
		TypeFunc("user", parseUser),
		TypeFunc("room", parseRoom),
	}
}

func parseString(_ context.Context, s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty value")
	}
	return s, nil
}

// parseInt accepts a decimal integer and normalises it ("+007" → "7").
func parseInt(_ context.Context, s string) (string, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an int", s)
	}
	return strconv.Itoa(n), nil
}

// parseDuration accepts what clock.ParseDuration does ("90s", "1h30m", "2d",
// "1w"), not negative, and keeps the input's form, lower-cased.
func parseDuration(_ context.Context, s string) (string, error) {
	d, err := clock.ParseDuration(s)
	if err != nil || d < 0 {
		return "", fmt.Errorf("%q is not a duration", s)
	}
	return strings.ToLower(strings.TrimSpace(s)), nil
}

// parseUser accepts "@alice" or "alice" and normalises to "alice".
func parseUser(_ context.Context, s string) (string, error) {
	name := strings.TrimPrefix(s, "@")
	if !validChatName(name, "@") {
		return "", fmt.Errorf("%q is not a user name", s)
	}
	return name, nil
}

// parseRoom accepts "#ops" or "ops" and normalises to "#ops".
func parseRoom(_ context.Context, s string) (string, error) {
	name := strings.TrimPrefix(s, "#")
	if !validChatName(name, "") {
		return "", fmt.Errorf("%q is not a room", s)
	}
	return "#" + name, nil
}

// validChatName reports whether s is a user or room name: letters, digits,
// ".", "_", "-" and, after the first character, any of extra.
func validChatName(s, extra string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-", r) ||
			i > 0 && strings.ContainsRune(extra, r)
		if !ok {
			return false
		}
	}
	return true
}
