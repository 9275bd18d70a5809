package sqlstore

import (
	"errors"
	"net/url"
	"strings"
)

// redacted replaces a password in text.
const redacted = "xxxxx"

// Redact returns a database URL fit for logs and errors: the password, in the
// user info or in a "password" query parameter, is replaced by "xxxxx". An
// unparsable URL becomes its scheme only, since it may hold a password it
// can't locate. Anything without "://" (a SQLite path) is returned as is.
func Redact(rawURL string) string {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return scheme + "://(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	u.RawQuery = redactQuery(u.RawQuery)
	return u.String()
}

// redactQuery replaces the values of "password" parameters in a raw query,
// even one with bad escapes, which url.ParseQuery would skip.
func redactQuery(rawQuery string) string {
	pairs := strings.Split(rawQuery, "&")
	for i, pair := range pairs {
		if key, _, ok := strings.Cut(pair, "="); ok && isPasswordKey(key) {
			pairs[i] = key + "=" + redacted
		}
	}
	return strings.Join(pairs, "&")
}

// queryPasswords lists the values of "password" parameters in a raw query, as
// written and decoded.
func queryPasswords(rawQuery string) []string {
	var pws []string
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if key, value, ok := strings.Cut(pair, "="); ok && isPasswordKey(key) && value != "" {
			pws = append(pws, value)
			if dec, err := url.QueryUnescape(value); err == nil {
				pws = append(pws, dec)
			}
		}
	}
	return pws
}

func isPasswordKey(key string) bool {
	if dec, err := url.QueryUnescape(key); err == nil {
		key = dec
	}
	return key == "password"
}

// secretsOf lists the passwords in a database URL, as written and decoded.
func secretsOf(u *url.URL) []string {
	var secrets []string
	if pw, has := u.User.Password(); has && pw != "" {
		secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	return append(secrets, queryPasswords(u.RawQuery)...)
}

// redactedError hides secrets in the message of the error it wraps.
type redactedError struct {
	err     error
	secrets []string
}

// redactErr wraps err so that its message never shows any of secrets.
func redactErr(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	return &redactedError{err: err, secrets: secrets}
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, redacted)
		}
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

// parseURLError explains why url.Parse rejects rawURL without quoting its
// user info, which url.Parse's own message would, password included.
func parseURLError(rawURL string) error {
	stripped := withoutUserInfo(rawURL)
	_, err := url.Parse(stripped)
	if err == nil {
		return errors.New("invalid user name or password in the database URL (special characters in them must be percent-encoded)")
	}
	// err quotes stripped, which may still have a password parameter.
	_, query, _ := strings.Cut(stripped, "?")
	return redactErr(err, queryPasswords(query))
}

// withoutUserInfo removes the "user:password@" part of a URL: everything
// between "://" and the last "@", since the password itself may hold any
// character when the URL is malformed.
func withoutUserInfo(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}
