package connectors

import "context"

type modeKey struct{}

// WithMode records in ctx the mode of the run a request belongs to; the
// sync task handler sets it, and the rate limiter reads it to keep
// backfills (full runs) within their share of a source's rate.
func WithMode(ctx context.Context, m Mode) context.Context {
	return context.WithValue(ctx, modeKey{}, m)
}

// ModeFrom returns the mode recorded by WithMode ("" when none).
func ModeFrom(ctx context.Context) Mode {
	m, _ := ctx.Value(modeKey{}).(Mode)
	return m
}
