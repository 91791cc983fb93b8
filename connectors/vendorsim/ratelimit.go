package vendorsim

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter is a per-key token bucket driven by an injected clock. Capacity is
// max(1, rate) tokens, i.e. one second's worth of requests.
type limiter struct {
	rate float64
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, now func() time.Time) *limiter {
	return &limiter{rate: rate, now: now, buckets: make(map[string]*bucket)}
}

// allow takes one token for key. When none is left it returns false and the
// whole number of seconds (≥1) after which a token will be available.
func (l *limiter) allow(key string) (ok bool, retryAfter int) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	capacity := math.Max(1, l.rate)
	now := l.now()
	b, found := l.buckets[key]
	if !found {
		b = &bucket{tokens: capacity, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(capacity, b.tokens+el*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := (1 - b.tokens) / l.rate
	return false, max(1, int(math.Ceil(wait)))
}

// writeRetryAfter sets the Retry-After header (seconds).
func writeRetryAfter(w http.ResponseWriter, secs int) {
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// sleepCtx waits d or until ctx is done; it reports whether the whole d
// elapsed with ctx still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// bufferedResponse captures a handler's response so it can be replayed
// truncated (the "200 with a body cut mid-way" fault).
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: make(http.Header)}
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// writeTruncated replays the captured response (its status, HTTP 200 if
// none) with only the first half of its body (at least 1 byte is dropped)
// and a Content-Length to match: a well-formed answer with a cut JSON body.
func (b *bufferedResponse) writeTruncated(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	body := b.body.Bytes()
	cut := len(body) / 2
	w.Header().Set("Content-Length", strconv.Itoa(cut))
	w.WriteHeader(cmp.Or(b.status, http.StatusOK))
	_, _ = w.Write(body[:cut])
}

// writeCut replays the captured response declaring its full Content-Length,
// sends the first half of the body and drops the connection: the client
// reads an unexpected EOF mid-body.
func (b *bufferedResponse) writeCut(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	body := b.body.Bytes()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(cmp.Or(b.status, http.StatusOK))
	_, _ = w.Write(body[:len(body)/2])
	_ = http.NewResponseController(w).Flush()
	panic(http.ErrAbortHandler)
}

const badGatewayHTML = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// writeBadGateway writes the nginx-style HTML 502 page.
func writeBadGateway(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write([]byte(badGatewayHTML))
}
