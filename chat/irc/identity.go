package irc

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lrstanley/girc"
)

// Who a message is from, in order of trust:
//
//  1. a services account, as the server vouches for it (the account tag on
//     the message, or what extended-join and account-notify said about the
//     connection): the ID is the account name;
//  2. a trusted nick!user@host mask from the config: the ID it maps to;
//  3. anyone else: "nick:" and the nick. Anybody can take a free nick, so
//     such an ID is never linked to an opsbot user and the sender is a guest.
//
// Account names never contain ":", so no account can claim a "nick:" ID.

// masks holds the trusted_masks of the config, folded for matching.
type masks struct {
	exact map[string]string
	wild  []wildMask // most specific first
}

type wildMask struct {
	pattern, id string
	literal     int // characters that are not wildcards
}

func newMasks(m map[string]string) (*masks, error) {
	out := &masks{exact: map[string]string{}}
	for mask, id := range m {
		folded, err := parseMask(mask)
		if err != nil {
			return nil, fmt.Errorf("trusted_masks %q: %w", mask, err)
		}
		if !strings.ContainsAny(folded, "*?") {
			out.exact[folded] = id
			continue
		}
		out.wild = append(out.wild, wildMask{pattern: folded, id: id, literal: len(folded) - strings.Count(folded, "*") - strings.Count(folded, "?")})
	}
	slices.SortFunc(out.wild, func(a, b wildMask) int {
		if a.literal != b.literal {
			return b.literal - a.literal
		}
		return strings.Compare(a.pattern, b.pattern)
	})
	return out, nil
}

// lookup returns the identity ID of the first mask matching nick!user@host:
// an exact mask, else the wildcard mask with the most literal characters.
func (m *masks) lookup(nick, user, host string) (string, bool) {
	if m == nil || nick == "" || user == "" || host == "" {
		return "", false
	}
	full := fold(nick + "!" + user + "@" + host)
	if id, ok := m.exact[full]; ok {
		return id, true
	}
	for _, w := range m.wild {
		if glob(w.pattern, full) {
			return w.id, true
		}
	}
	return "", false
}

var errMask = errors.New("is not a nick!user@host mask")

// parseMask checks a nick!user@host mask and returns it folded. Each part
// must be there; the host must have a character that is not a wildcard or a
// dot, so that no mask trusts every host.
func parseMask(mask string) (string, error) {
	nick, rest, ok := strings.Cut(mask, "!")
	if !ok {
		return "", errMask
	}
	user, host, ok := strings.Cut(rest, "@")
	if !ok || nick == "" || user == "" || host == "" || strings.ContainsAny(host, "!@") || strings.ContainsAny(mask, " ,\r\n\x00") {
		return "", errMask
	}
	if strings.Trim(host, "*?.") == "" {
		return "", fmt.Errorf("%w: its host %q matches any host", errMask, host)
	}
	return fold(mask), nil
}

// fold maps a nick, channel or mask to the form IRC compares
// (RFC 1459 case mapping).
func fold(s string) string { return girc.ToRFC1459(s) }

// glob matches s against pattern, where * is any run of characters and ? any one.
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
