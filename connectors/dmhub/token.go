package dmhub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/goccy/go-json"
	"github.com/redis/go-redis/v9"
)

// TokenStore keeps one DM Hub access token per app in Redis, shared by
// every worker process: DM Hub allows one live token per app, so a token
// fetched by one process invalidates the others'. Refreshes are
// single-flight across processes (a Redis lock) and happen ahead of expiry
// by a fraction of the token's own lifetime (see Margin), or after the
// vendor rejected the current token (Invalidate). Each TokenStore also
// keeps the token in process memory until its refresh-ahead point, so a
// vendor call costs no Redis read; Invalidate drops it there too.
type TokenStore struct {
	rdb   redis.UniversalClient
	key   string
	lock  string
	fetch FetchFunc
	// RefreshFraction is the part of a token's lifetime before its expiry
	// at which it is refreshed (default 0.2: a 10 s token after 8 s, a
	// 2 h token after 1 h 55 min, because of MaxMargin).
	RefreshFraction float64
	// MaxMargin caps the refresh margin of long-lived tokens (default 5m).
	MaxMargin time.Duration
	Now       func() time.Time
	// LockTTL bounds how long a crashed refresher blocks the others.
	LockTTL time.Duration

	// mu guards cached: the token last read from or written to Redis by
	// this process, used without a Redis read until its refresh-ahead
	// point. Redis stays the source of truth across processes: a token
	// the vendor rejects is dropped here too (Invalidate), and the next
	// Token call reads Redis again.
	mu     sync.Mutex
	cached storedToken
}

// Token lifetime defaults.
const (
	DefaultRefreshFraction = 0.2
	DefaultMaxMargin       = 5 * time.Minute
	// DefaultTokenTTL is assumed when the vendor sends no expires_in.
	DefaultTokenTTL = 7200 * time.Second
)

// FetchFunc asks the vendor for a new token and its lifetime.
type FetchFunc func(ctx context.Context) (token string, ttl time.Duration, err error)

type storedToken struct {
	Token     string    `json:"token"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NewTokenStore keeps the token of one app under keyPrefix (which should
// include the namespace and app id, never the secret).
func NewTokenStore(rdb redis.UniversalClient, keyPrefix string, fetch FetchFunc) *TokenStore {
	return &TokenStore{rdb: rdb, key: keyPrefix + ":token", lock: keyPrefix + ":token-lock", fetch: fetch,
		RefreshFraction: DefaultRefreshFraction, MaxMargin: DefaultMaxMargin, Now: time.Now, LockTTL: 30 * time.Second}
}

// Margin is how long before its expiry a token of lifetime ttl is
// refreshed: RefreshFraction of ttl, at most MaxMargin.
func (s *TokenStore) Margin(ttl time.Duration) time.Duration {
	f := s.RefreshFraction
	if f <= 0 || f >= 1 {
		f = DefaultRefreshFraction
	}
	m := time.Duration(float64(ttl) * f)
	if s.MaxMargin > 0 {
		m = min(m, s.MaxMargin)
	}
	return m
}

func (s *TokenStore) load(ctx context.Context) (storedToken, bool, error) {
	b, err := s.rdb.Get(ctx, s.key).Bytes()
	if errors.Is(err, redis.Nil) {
		return storedToken{}, false, nil
	}
	if err != nil {
		return storedToken{}, false, err
	}
	var t storedToken
	if json.Unmarshal(b, &t) != nil || t.Token == "" {
		return storedToken{}, false, nil
	}
	return t, true, nil
}

func (s *TokenStore) fresh(t storedToken) bool {
	return s.Now().Add(s.Margin(t.ExpiresAt.Sub(t.IssuedAt))).Before(t.ExpiresAt)
}

// Token returns the app's token while it is outside its refresh margin,
// fetching a new one otherwise. Concurrent callers in any process wait for the one
// refresh in flight instead of each invalidating the others' token.
func (s *TokenStore) Token(ctx context.Context) (string, error) {
	if t, ok := s.fromCache(); ok {
		return t, nil
	}
	wait := 50 * time.Millisecond
	for {
		t, ok, err := s.load(ctx)
		if err != nil {
			return "", err
		}
		if ok && s.fresh(t) {
			s.remember(t)
			return t.Token, nil
		}
		owner := randomID()
		got, err := s.rdb.SetNX(ctx, s.lock, owner, s.LockTTL).Result()
		if err != nil {
			return "", err
		}
		if got {
			tok, err := s.refresh(ctx)
			s.unlock(owner)
			return tok, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

func (s *TokenStore) refresh(ctx context.Context) (string, error) {
	// someone may have refreshed between our check and the lock
	if t, ok, err := s.load(ctx); err == nil && ok && s.fresh(t) {
		s.remember(t)
		return t.Token, nil
	}
	tok, ttl, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	now := s.Now()
	st := storedToken{Token: tok, IssuedAt: now, ExpiresAt: now.Add(ttl)}
	b, _ := json.Marshal(st)
	if err := s.rdb.Set(ctx, s.key, b, ttl).Err(); err != nil {
		return "", err
	}
	s.remember(st)
	return tok, nil
}

var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

func (s *TokenStore) unlock(owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = unlockScript.Run(ctx, s.rdb, []string{s.lock}, owner).Err()
}

var invalidateScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v and string.find(v, ARGV[1], 1, true) then return redis.call("DEL", KEYS[1]) end
return 0`)

// Invalidate forgets token if it is still the stored one (the vendor
// rejected it), so the next Token call refreshes. A token another process
// already replaced is left alone.
func (s *TokenStore) Invalidate(ctx context.Context, token string) error {
	s.forget(token)
	needle, _ := json.Marshal(token) // match the quoted JSON value exactly
	return invalidateScript.Run(ctx, s.rdb, []string{s.key}, string(needle)).Err()
}

// fromCache returns the token this process holds while it is outside its
// refresh margin.
func (s *TokenStore) fromCache() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached.Token == "" || !s.fresh(s.cached) {
		return "", false
	}
	return s.cached.Token, true
}

func (s *TokenStore) remember(t storedToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cached = t
}

// forget drops token from the process cache if it is the cached one.
func (s *TokenStore) forget(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached.Token == token {
		s.cached = storedToken{}
	}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
