package connectors

import (
	"fmt"
	"strings"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// StreamTable renders the streams of kinds as the README's Markdown table:
// one row per stream, from the declarations alone.
func StreamTable(kinds config.Kinds) string {
	var b strings.Builder
	b.WriteString("| kind | stream | read | by default | vendor calls | fills |\n|---|---|---|---|---|---|\n")
	for _, k := range kinds {
		for _, st := range k.Streams {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s |\n", k.Kind, st.Name, readsText(st), defaultText(st),
				st.Calls, strings.Join(st.Tables, ", "))
		}
	}
	return b.String()
}

// StreamHelp renders the streams of kinds for `sync --help`: a line per
// kind.
func StreamHelp(kinds config.Kinds) string {
	var b strings.Builder
	b.WriteString("Streams per kind (--stream):\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-10s %s\n", k.Kind, strings.Join(k.StreamNames(), ", "))
	}
	return b.String()
}

func readsText(st config.StreamSpec) string {
	var s string
	switch st.Reads {
	case config.ReadsSyncedMembers:
		s = "per synced member, after the members run"
	case config.ReadsMemberKeys:
		s = "per `member_keys` key"
	case config.ReadsIdentityKeys:
		s = "over `identity_keys`"
	default:
		s = "list"
	}
	if st.FullSweep {
		s += "; full sweep every `full_sweep_every`"
	}
	return s
}

func defaultText(st config.StreamSpec) string {
	switch {
	case st.Off:
		return "off"
	case st.Reads == config.ReadsIdentityKeys:
		return "on with `identity_keys`"
	}
	return "on"
}
