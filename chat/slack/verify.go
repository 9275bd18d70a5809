package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Slack signs every request it sends (docs: "Verifying requests from
// Slack"): X-Slack-Signature is "v0=" and the hex HMAC-SHA256, keyed with
// the app's signing secret, of "v0:" + X-Slack-Request-Timestamp + ":" +
// the raw body. A timestamp more than five minutes from now is refused, so
// an old request can't be replayed; a signature already seen in that window
// is refused too (see Handler).

// signatureWindow is how far a request's timestamp may be from now.
const signatureWindow = 5 * time.Minute

var (
	errNoSignature  = errors.New("missing X-Slack-Signature or X-Slack-Request-Timestamp")
	errBadSignature = errors.New("the signature does not match")
	errStale        = errors.New("the timestamp is more than 5 minutes from now")
)

// verify checks a request's signature over body at now.
func verify(secret []byte, h http.Header, body []byte, now time.Time) error {
	sig, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || ts == "" {
		return errNoSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("X-Slack-Request-Timestamp %q is not a unix time", ts)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > signatureWindow || d < -signatureWindow {
		return errStale
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return errBadSignature
	}
	return nil
}

// Sign is the X-Slack-Signature of body sent at timestamp ts (unix seconds).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}
