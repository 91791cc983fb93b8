package jobs

import (
	"slices"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// This file is jobs' run policy. It names no vendor and no stream: every
// answer comes from the declaration of the source's kind
// (config.KindSpec, exported by each connector package).

// streamSpec returns the declaration of a stream of src (the zero
// StreamSpec, a source-wide list, for a source built without one).
func streamSpec(src *config.Source, stream string) config.StreamSpec {
	st, _ := src.StreamSpec(stream)
	return st
}

// isMembers reports whether stream is src's Members stream: the one whose
// run others of the same sync wait for, and whose end releases them.
func isMembers(src *config.Source, stream string) bool {
	return stream != "" && stream == src.MembersStream()
}

// membersStreamOf returns the name of the Members stream of the source
// called source ("" when it has none or is not configured).
func (e *Engine) membersStreamOf(source string) string {
	src, err := e.cfg.Source(source)
	if err != nil {
		return ""
	}
	return src.MembersStream()
}

// orderStreams returns streams with src's Members stream first, so the
// runs that wait for it can name its run.
func orderStreams(src *config.Source, streams []string) []string {
	ordered := slices.Clone(streams)
	slices.SortStableFunc(ordered, func(a, b string) int {
		am, bm := isMembers(src, a), isMembers(src, b)
		switch {
		case am && !bm:
			return -1
		case bm && !am:
			return 1
		}
		return 0
	})
	return ordered
}

// waitsForMembers reports whether a run of stream starts only when the
// members run of the same sync succeeds: streams read over the members
// synced into ClickHouse, and identity look-ups whose keys come from the
// source's own members.
func waitsForMembers(src *config.Source, stream string) bool {
	switch streamSpec(src, stream).Reads {
	case config.ReadsSyncedMembers:
		return true
	case config.ReadsIdentityKeys:
		return src.IdentityKeys != nil && src.IdentityKeys.FromSource == src.Name
	}
	return false
}

// sweepsPeriodically reports whether incremental runs of stream are
// upgraded to a full sweep when its last full run is older than the
// source's full_sweep_every (StreamSpec.FullSweep).
func sweepsPeriodically(src *config.Source, stream string) bool {
	return streamSpec(src, stream).FullSweep && src.FullSweepEvery > 0
}

// readsSyncedMembers reports whether the per-member passes of stream run
// over the members synced into `members`, rather than member_keys.
func readsSyncedMembers(src *config.Source, stream string) bool {
	return streamSpec(src, stream).Reads == config.ReadsSyncedMembers
}

// partitionedByMember reports whether a list stream of src is read member
// by member over member_keys.
func partitionedByMember(src *config.Source, stream string) bool {
	return streamSpec(src, stream).Reads == config.ReadsMemberKeys
}

// provedTables returns the tables a complete full run of stream reads
// whole (StreamSpec.Proves), so that a row it no longer saw is gone at
// the vendor.
func provedTables(src *config.Source, stream string) ([]warehouse.Table, error) {
	var out []warehouse.Table
	for _, name := range streamSpec(src, stream).Proves {
		t, err := warehouse.TableNamed(name)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
