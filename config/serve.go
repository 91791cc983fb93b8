package config

import (
	"strings"
	"time"
)

// Serve configures `loyaltybridge serve`, the HTTP intake of outbound
// writes (CONTRACT.md: serve: {addr, token}).
type Serve struct {
	// Addr is the listen address; default ":8080". The --addr flag
	// overrides it.
	Addr string `yaml:"addr"`
	// Token is the bearer token every /v1/ request must carry
	// (Authorization: Bearer <token>); required to run serve, at least
	// 16 characters. Use ${ENV}.
	Token Secret `yaml:"token"`
	// MaxBodyBytes bounds one request body; default 8 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RequestTimeout bounds one request, body read included; default 30s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// Serve defaults and bounds.
const (
	DefaultServeAddr      = ":8080"
	DefaultMaxBodyBytes   = 8 << 20
	MaxServeBodyBytes     = 256 << 20
	DefaultRequestTimeout = 30 * time.Second
	MinServeTokenLen      = 16
)

func (c *Config) setServeDefaults() {
	s := &c.Serve
	if s.Addr == "" {
		s.Addr = DefaultServeAddr
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.RequestTimeout == 0 {
		s.RequestTimeout = DefaultRequestTimeout
	}
}

func (c *Config) validateServe() error {
	s := c.Serve
	if err := checkHostPort(s.Addr); err != nil && !strings.HasPrefix(s.Addr, ":") {
		return c.fieldErr("serve.addr", "%q: %v", s.Addr, err)
	}
	if t := s.Token.Reveal(); t != "" && len(t) < MinServeTokenLen {
		return c.fieldErr("serve.token", "is %d characters; use at least %d (a random secret)", len(t), MinServeTokenLen)
	}
	if s.MaxBodyBytes < 1 || s.MaxBodyBytes > MaxServeBodyBytes {
		return c.fieldErr("serve.max_body_bytes", "%d is out of range 1..%d", s.MaxBodyBytes, MaxServeBodyBytes)
	}
	if s.RequestTimeout < 0 || s.RequestTimeout > 10*time.Minute {
		return c.fieldErr("serve.request_timeout", "%s is out of range (0, 10m]", s.RequestTimeout)
	}
	return nil
}
