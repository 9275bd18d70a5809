package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/opsbot/opsbot/store"
)

// TokenCacheTTL is how long a token looked up in the store is trusted
// without asking again: a revocation takes effect within this time.
const TokenCacheTTL = 5 * time.Second

// touchEvery limits last-used updates to one write per token per interval.
const touchEvery = time.Minute

// tokenCache keeps recent token lookups (found or not) for TokenCacheTTL, so
// a busy API client costs no store query per request.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]cachedToken
	touched map[int64]time.Time
	now     func() time.Time
}

type cachedToken struct {
	tok     store.Token
	err     error
	expires time.Time
}

func (c *tokenCache) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

func (c *tokenCache) lookup(ctx context.Context, st store.Store, hash string) (store.Token, error) {
	now := c.clock()
	c.mu.Lock()
	if e, ok := c.entries[hash]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.tok, e.err
	}
	c.mu.Unlock()
	tok, err := st.TokenByHash(ctx, hash)
	if err != nil && !isNotFound(err) {
		return tok, err // a store failure is not cached
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) > 10000 {
		c.entries = map[string]cachedToken{} // bounded: unknown tokens cannot grow it without limit
	}
	c.entries[hash] = cachedToken{tok: tok, err: err, expires: now.Add(TokenCacheTTL)}
	c.mu.Unlock()
	return tok, err
}

// shouldTouch reports whether the token's last use should be written now.
func (c *tokenCache) shouldTouch(id int64) bool {
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.touched == nil {
		c.touched = map[int64]time.Time{}
	}
	if t, ok := c.touched[id]; ok && now.Sub(t) < touchEvery {
		return false
	}
	c.touched[id] = now
	return true
}

// SetClock sets the time source of the token cache (tests).
func (s *Server) SetClock(now func() time.Time) {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	s.tokens.now = now
}
