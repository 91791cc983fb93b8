package main

import (
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// newRedisClient connects to a single Redis (addr or url), a Sentinel-
// managed master (redis.sentinel) or a Redis Cluster (redis.cluster);
// where names it for error messages (no credentials).
func newRedisClient(r config.Redis) (rdb redis.UniversalClient, where string, err error) {
	switch {
	case r.Sentinel != nil:
		s := r.Sentinel
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: s.Master, SentinelAddrs: s.Addrs, SentinelPassword: s.Password.Reveal(),
			Password: r.Password.Reveal(), DB: r.DB,
		}), "sentinel " + s.Master + "@" + strings.Join(s.Addrs, ","), nil
	case len(r.Cluster) > 0:
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: r.Cluster, Password: r.Password.Reveal()}),
			"cluster " + strings.Join(r.Cluster, ","), nil
	}
	o, err := redisOptions(r)
	if err != nil {
		return nil, "", err
	}
	return redis.NewClient(o), o.Addr, nil
}
