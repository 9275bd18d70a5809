package sqlstore

import (
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
	if q := u.Query(); q.Has("password") {
		q.Set("password", redacted)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// secretsOf lists the passwords in a database URL, as written and decoded.
func secretsOf(u *url.URL) []string {
	var secrets []string
	if pw, has := u.User.Password(); has && pw != "" {
		secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	if pw := u.Query().Get("password"); pw != "" {
		secrets = append(secrets, pw, url.QueryEscape(pw))
	}
	return secrets
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
