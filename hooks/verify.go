package hooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HMACSHA256 is the HMAC-SHA256 of the concatenated parts under key.
func HMACSHA256(key string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// ValidHexHMAC reports whether sig is the hex HMAC-SHA256 of the parts under
// key, comparing in constant time. Case of the hex digits does not matter.
func ValidHexHMAC(key, sig string, parts ...[]byte) bool {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	return hmac.Equal(got, HMACSHA256(key, parts...))
}

// ValidBase64HMAC is ValidHexHMAC for a base64 (standard encoding) signature.
func ValidBase64HMAC(key, sig string, parts ...[]byte) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	return hmac.Equal(got, HMACSHA256(key, parts...))
}

// TokenEqual compares a presented token with the configured one in constant
// time (hashing both first, so that not even the length leaks). An empty
// want never matches.
func TokenEqual(want, got string) bool {
	if want == "" || got == "" {
		return false
	}
	w, g := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}

// TokenHeader is the header a sender that can set headers may use for the
// token when it cannot use Authorization.
const TokenHeader = "X-Opsbot-Token"

// TokenAuth checks a shared token. The token may come as
// "Authorization: Bearer TOKEN", as the password of HTTP basic auth (the user
// must equal Username when one is set), in the X-Opsbot-Token header, in one
// of Headers (a vendor's own, such as X-Gitlab-Token), or, for senders that
// can set only a URL, in the query parameter "token".
type TokenAuth struct {
	Token    string
	Username string
	Headers  []string
	// NoQuery refuses the query parameter.
	NoQuery bool
}

// Verify implements the check for Source.Verify.
func (a TokenAuth) Verify(r *Request) error {
	presented := false
	try := func(got string) bool {
		if got == "" {
			return false
		}
		presented = true
		return TokenEqual(a.Token, got)
	}
	h := http.Header(r.Header)
	for _, name := range a.Headers {
		if try(h.Get(name)) {
			return nil
		}
	}
	if try(h.Get(TokenHeader)) {
		return nil
	}
	if auth := h.Get("Authorization"); auth != "" {
		scheme, rest, _ := strings.Cut(auth, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			if try(rest) {
				return nil
			}
		case strings.EqualFold(scheme, "Basic"):
			if user, pw, ok := basic(rest); ok {
				userOK := a.Username == "" || subtle.ConstantTimeCompare([]byte(user), []byte(a.Username)) == 1
				if try(pw) && userOK {
					return nil
				}
			} else {
				presented = true
			}
		default:
			presented = true
		}
	}
	if !a.NoQuery && try(r.Query.Get("token")) {
		return nil
	}
	if !presented {
		return Unauthorized("missing token")
	}
	return Unauthorized("invalid token")
}

func basic(s string) (user, pw string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}

// DefaultTolerance is how far a delivery's timestamp may be from now.
const DefaultTolerance = 5 * time.Minute

// CheckTimestamp rejects a delivery whose unix-seconds timestamp is missing,
// unreadable or more than tolerance away from now (a replay).
func CheckTimestamp(ts string, now time.Time, tolerance time.Duration) error {
	if ts == "" {
		return Unauthorized("missing timestamp")
	}
	sec, err := strconv.ParseFloat(strings.TrimSpace(ts), 64)
	if err != nil {
		return Unauthorized("unreadable timestamp")
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	t := time.Unix(0, int64(sec*float64(time.Second)))
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return Unauthorized("stale timestamp (%s from now; tolerance %s)", d.Round(time.Second), tolerance)
	}
	return nil
}
