package httpapi

import (
	"errors"

	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"github.com/opsbot/opsbot/store"
	"strings"
)

// Scopes an API token can carry.
var Scopes = []string{"events:write", "audit:read", "deployments:read", "deployments:write",
	"alerts:read", "incidents:read", "instances:read", "schedules:read", "monitors:read", "admin"}

// TokenPrefix starts every token, so a leaked one is easy to recognise in a scan.
const TokenPrefix = "opsbot_"

// NewToken returns a fresh random token and the hash to store.
func NewToken() (token, hash string, err error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	token = TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(buf))
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token: SHA-256, hex. Tokens are 256-bit
// random values, so a fast hash is enough (no password stretching needed).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ValidScope reports whether s is a known scope.
func ValidScope(s string) bool {
	for _, k := range Scopes {
		if k == s {
			return true
		}
	}
	return false
}

// HasScope reports whether scopes grant want; "admin" grants everything.
func HasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want || s == "admin" {
			return true
		}
	}
	return false
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
