package outbound

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Intake look-ups (is this write already stored? does this order already
// have writes?) of concurrent requests are grouped like appends: while one
// grouped pair of SELECTs runs, the requests arriving meanwhile queue up
// and are answered by the next pair. ClickHouse answers one SELECT over
// many keys about as fast as one over a single key, so under load intake
// pays for one round trip per group instead of two per request.

// lookupReq is one request's look-up.
type lookupReq struct {
	ctx      context.Context
	source   string
	ids      []string
	orderNos []string
	done     chan lookupRes
}

type lookupRes struct {
	existing   map[string]bool
	withWrites map[string]bool
	err        error
}

// maxLookupGroup bounds the keys of one grouped look-up.
const maxLookupGroup = 5000

// Lookup returns which of ids are already stored and
// which of orderNos already have a write, for one source. Concurrent
// calls are answered by one grouped query pair.
func (s *Store) Lookup(ctx context.Context, source string, ids, orderNos []string) (map[string]bool, map[string]bool, error) {
	r := lookupReq{ctx: ctx, source: source, ids: ids, orderNos: orderNos, done: make(chan lookupRes, 1)}
	select {
	case s.lookups <- r:
	case <-s.done:
		return nil, nil, ErrClosed
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.existing, res.withWrites, res.err
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func (s *Store) lookuper() {
	defer close(s.lookupStopped)
	for {
		var first lookupReq
		select {
		case first = <-s.lookups:
		case <-s.done:
			return
		}
		group := []lookupReq{first}
		n := len(first.ids) + len(first.orderNos)
	drain:
		for n < maxLookupGroup {
			select {
			case r := <-s.lookups:
				group = append(group, r)
				n += len(r.ids) + len(r.orderNos)
			default:
				break drain
			}
		}
		s.lookupGroup(group)
	}
}

// lookupGroup answers a group of look-ups with one query pair per source.
func (s *Store) lookupGroup(group []lookupReq) {
	bySource := map[string][]lookupReq{}
	for _, r := range group {
		if r.ctx.Err() != nil {
			r.done <- lookupRes{err: r.ctx.Err()}
			continue
		}
		bySource[r.source] = append(bySource[r.source], r)
	}
	var wg sync.WaitGroup
	for source, rs := range bySource {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ids, orders []string
			for _, r := range rs {
				ids = append(ids, r.ids...)
				orders = append(orders, r.orderNos...)
			}
			// a caller that gives up does not cancel the others' look-up
			ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
			defer cancel()
			var existing, withWrites map[string]bool
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() (err error) { existing, err = s.Stored(gctx, source, ids); return err })
			g.Go(func() (err error) { withWrites, err = s.OrdersWithWrites(gctx, source, orders); return err })
			err := g.Wait()
			for _, r := range rs {
				if err != nil {
					r.done <- lookupRes{err: err}
					continue
				}
				res := lookupRes{existing: map[string]bool{}, withWrites: map[string]bool{}}
				for _, id := range r.ids {
					if existing[id] {
						res.existing[id] = true
					}
				}
				for _, o := range r.orderNos {
					if withWrites[o] {
						res.withWrites[o] = true
					}
				}
				r.done <- res
			}
		}()
	}
	wg.Wait()
}
