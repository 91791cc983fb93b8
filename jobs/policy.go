package jobs

import (
	"slices"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// This file is the vendor- and stream-name policy left in jobs. When the
// connectors declare their streams (issue 9 item 1), each function here
// reads that declaration instead, and the rest of the package is unchanged.

// membersStream is the stream that per-member runs of the same sync wait
// for, and whose end releases them.
const membersStream = "members"

// orderStreams returns streams with the members stream first, so the runs
// that wait for it can name its run.
func orderStreams(streams []string) []string {
	ordered := slices.Clone(streams)
	slices.SortStableFunc(ordered, func(a, b string) int {
		switch {
		case a == membersStream && b != membersStream:
			return -1
		case b == membersStream && a != membersStream:
			return 1
		}
		return 0
	})
	return ordered
}

// waitsForMembers reports whether a run of stream starts only when the
// members run of the same sync succeeds: DM Hub's per-member streams read
// the members synced into ClickHouse, and identities reads its keys from
// the source's own members.
func waitsForMembers(src *config.Source, stream string, perMember bool) bool {
	ownKeys := stream == "identities" && src.IdentityKeys != nil && src.IdentityKeys.FromSource == src.Name
	return (perMember && src.Kind == config.DMHub) || ownKeys
}

// sweepsPeriodically reports whether incremental runs of stream are
// upgraded to a full sweep when its last full run is older than the
// source's full_sweep_every: they read only what changed in members, and
// a sweep catches what changes without touching the member.
func sweepsPeriodically(src *config.Source, stream string, perMember bool) bool {
	return src.Kind == config.DMHub && (perMember || stream == "identities") && src.FullSweepEvery > 0
}

// readsSyncedMembers reports whether the per-member passes of src run over
// the members synced into `members` (DM Hub), rather than member_keys.
func readsSyncedMembers(src *config.Source) bool { return src.Kind == config.DMHub }

// partitionedByMember reports whether a list stream of src is read member
// by member over member_keys (Houcaller's and zvcms's look-ups).
func partitionedByMember(src *config.Source, stream string) bool {
	return slices.Contains(config.MemberKeyStreams[src.Kind], stream)
}
