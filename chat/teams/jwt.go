package teams

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/clock"
)

// clockSkew is how far token times may be off (the Bot Framework's own 5 minutes).
const clockSkew = 5 * time.Minute

// keysMaxAge is how long fetched keys are used before being fetched again.
const keysMaxAge = 24 * time.Hour

// errUnauthorized marks a request whose token is missing or does not verify.
var errUnauthorized = errors.New("unauthorized")

// claims are the token claims the Bot Framework sets on its requests.
type claims struct {
	Issuer     string   `json:"iss"`
	Audience   audience `json:"aud"`
	Expires    int64    `json:"exp"`
	NotBefore  int64    `json:"nbf"`
	ServiceURL string   `json:"serviceurl"`
}

// audience is "aud": a string or a list of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// signingKey is one key of the JWKS, with the channels it endorses.
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string
}

// verifier checks the bearer tokens of inbound requests against the keys
// named by the Bot Framework's OpenID metadata, fetched lazily and again
// when a token names an unknown key (at most once per refresh interval).
type verifier struct {
	http        *http.Client
	metadataURL string
	issuer      string
	audience    string
	refresh     time.Duration
	timeout     time.Duration

	mu      sync.Mutex
	clock   clock.Clock
	keys    map[string]signingKey
	fetched time.Time // when keys were last fetched (zero: never)
	tried   time.Time // when a fetch was last tried
}

// verify checks a request's Authorization header for the activity's
// serviceUrl and channel, returning an error wrapping errUnauthorized when
// it does not verify.
func (v *verifier) verify(ctx context.Context, header, serviceURL, channelID string) error {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		return fmt.Errorf("%w: no bearer token", errUnauthorized)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%w: not a JWT", errUnauthorized)
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return fmt.Errorf("%w: header: %v", errUnauthorized, err)
	}
	if hdr.Alg != "RS256" {
		return fmt.Errorf("%w: algorithm %q is not RS256", errUnauthorized, hdr.Alg)
	}
	key, err := v.key(ctx, hdr.Kid)
	if err != nil {
		return err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("%w: signature: %v", errUnauthorized, err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key.pub, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("%w: bad signature", errUnauthorized)
	}
	var c claims
	if err := decodeSegment(parts[1], &c); err != nil {
		return fmt.Errorf("%w: claims: %v", errUnauthorized, err)
	}
	now := v.now()
	switch {
	case c.Issuer != v.issuer:
		return fmt.Errorf("%w: issuer %q", errUnauthorized, c.Issuer)
	case !slices.Contains(c.Audience, v.audience):
		return fmt.Errorf("%w: audience %q is not this bot", errUnauthorized, []string(c.Audience))
	case c.Expires == 0 || now.After(time.Unix(c.Expires, 0).Add(clockSkew)):
		return fmt.Errorf("%w: the token has expired", errUnauthorized)
	case c.NotBefore != 0 && now.Add(clockSkew).Before(time.Unix(c.NotBefore, 0)):
		return fmt.Errorf("%w: the token is not valid yet", errUnauthorized)
	case c.ServiceURL == "" || !strings.EqualFold(strings.TrimRight(c.ServiceURL, "/"), strings.TrimRight(serviceURL, "/")):
		return fmt.Errorf("%w: the token's serviceurl %q is not the activity's %q", errUnauthorized, c.ServiceURL, serviceURL)
	case len(key.endorsements) > 0 && !slices.Contains(key.endorsements, channelID):
		return fmt.Errorf("%w: the key does not endorse channel %q", errUnauthorized, channelID)
	}
	return nil
}

func (v *verifier) now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.clock.Now()
}

// key returns the signing key kid, fetching the keys when they are
// missing, old, or lack kid (not more often than the refresh interval).
func (v *verifier) key(ctx context.Context, kid string) (signingKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.clock.Now()
	k, ok := v.keys[kid]
	stale := v.fetched.IsZero() || now.Sub(v.fetched) > keysMaxAge
	if (ok && !stale) || (!stale && now.Sub(v.tried) < v.refresh) {
		if !ok {
			return signingKey{}, fmt.Errorf("%w: unknown signing key %q", errUnauthorized, kid)
		}
		return k, nil
	}
	v.tried = now
	keys, err := v.fetch(ctx)
	if err != nil {
		if ok { // keep using the keys we have
			return k, nil
		}
		return signingKey{}, fmt.Errorf("teams: fetching the signing keys: %w", err)
	}
	v.keys, v.fetched = keys, now
	if k, ok = keys[kid]; !ok {
		return signingKey{}, fmt.Errorf("%w: unknown signing key %q", errUnauthorized, kid)
	}
	return k, nil
}

// prefetch fetches the keys if none were fetched yet.
func (v *verifier) prefetch(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.fetched.IsZero() {
		return nil
	}
	now := v.clock.Now()
	v.tried = now
	keys, err := v.fetch(ctx)
	if err != nil {
		return err
	}
	v.keys, v.fetched = keys, now
	return nil
}

// fetch reads the OpenID metadata, then the JWKS it names.
func (v *verifier) fetch(ctx context.Context) (map[string]signingKey, error) {
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := v.getJSON(ctx, v.metadataURL, &meta); err != nil {
		return nil, fmt.Errorf("openid metadata: %w", err)
	}
	if meta.JWKSURI == "" {
		return nil, errors.New("openid metadata: no jwks_uri")
	}
	var set struct {
		Keys []struct {
			Kty          string   `json:"kty"`
			Kid          string   `json:"kid"`
			N            string   `json:"n"`
			E            string   `json:"e"`
			Endorsements []string `json:"endorsements"`
		} `json:"keys"`
	}
	if err := v.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	keys := make(map[string]signingKey)
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Kid == "" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		keys[k.Kid] = signingKey{pub: pub, endorsements: k.Endorsements}
	}
	if len(keys) == 0 {
		return nil, errors.New("keys: no RSA key in the set")
	}
	return keys, nil
}

func (v *verifier) getJSON(ctx context.Context, url string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

func decodeSegment(s string, out any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
