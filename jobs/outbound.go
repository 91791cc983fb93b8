package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
)

// OutboundResumeEvery is how often a worker re-enqueues, from ClickHouse,
// the outbound writes Redis lost.
const OutboundResumeEvery = time.Minute

// OutboundQueue is the asynq queue of outbound writes.
func (e *Engine) OutboundQueue() string { return OutboundQueue(e.cfg.Redis.Namespace) }

// NewOutbound builds the outbound writes' intake and delivery on the
// engine's config, warehouse, queue and connectors. Call Close on its
// Store when done.
func (e *Engine) NewOutbound(rdb redis.UniversalClient) *outbound.Outbound {
	return &outbound.Outbound{
		Store:     outbound.NewStore(e.wh),
		Queue:     e.queue,
		Inspector: asynq.NewInspectorFromRedisClient(rdb),
		Redis:     rdb,
		QueueName: e.OutboundQueue(),
		Namespace: e.cfg.Redis.Namespace,
		Writers:   e.writer,
		Log:       e.log,
		Now:       e.now,
	}
}

// writer returns the connectors.Writer of a source.
func (e *Engine) writer(source string) (connectors.Writer, error) {
	src, conn, err := e.connector(source)
	if err != nil {
		return nil, err
	}
	w, ok := conn.(connectors.Writer)
	if !ok {
		return nil, fmt.Errorf("source %s (kind %s) takes no outbound writes", source, src.Kind)
	}
	return w, nil
}

// startOutbound registers the outbound handler on mux, re-enqueues the
// writes Redis does not know (at start, then every OutboundResumeEvery)
// and returns the function that stops it.
func (e *Engine) startOutbound(ctx context.Context, rdb redis.UniversalClient, mux *asynq.ServeMux) (stop func()) {
	ob := e.NewOutbound(rdb)
	ob.Register(mux)
	stopRepair := e.repairEvery(ctx, "outbound: re-enqueued writes from ClickHouse", "writes", OutboundResumeEvery, ob.Resume)
	return func() {
		stopRepair()
		ob.Store.Close()
	}
}
