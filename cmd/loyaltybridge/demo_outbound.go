package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
)

// demoOutbound pushes deals, refunds of half of them and push-device
// registrations to the simulated DM Hub through the intake `push` and
// `serve` use (each write durable in ClickHouse before it is
// acknowledged), waits until the worker settled every write, and checks
// against the vendor's own ledger that each was applied once and every
// refund after its deal. A second demo run pushes the same idempotency
// keys: nothing is stored or sent again. (No points changes: the
// simulator starts from its seed at every run while the warehouse keeps
// the ledger, so a points change synced back in one run would be a real
// drift for the next run's reconcile.)
func demoOutbound(ctx context.Context, a *app, sim *simServer, source string, out io.Writer) error {
	ob := a.engine.NewOutbound(a.rdb)
	defer ob.Store.Close()
	members := sim.sim.DMHub.Members()
	n := min(20, len(members))
	var deals, refunds, devices []outbound.Line
	for i := range n {
		m := members[i].ID
		deals = append(deals, outbound.Line{N: len(deals) + 1, Body: fmt.Appendf(nil,
			`{"salesChannel":"web","store":"demo","orderNo":"DEMO-%03d","dateOrder":"2024-03-15T20:34:56+08:00",`+
				`"membershipId":%s,"amountDiscount":0,"amountPaid":99.5,"amountTotal":99.5,`+
				`"dealLines":[{"lineId":"L1","productName":"tea","qty":1,"priceUnit":99.5}]}`, i, m)})
		if i%2 == 0 {
			refunds = append(refunds, outbound.Line{N: len(refunds) + 1, Body: fmt.Appendf(nil,
				`{"membershipId":%s,"orderNo":"DEMO-%03d","dateRefund":"2024-03-16T10:00:00Z","refundTotal":99.5,`+
					`"refundLines":[{"lineId":"L1"}]}`, m, i)})
		}
		if i < n/2 {
			devices = append(devices, outbound.Line{N: len(devices) + 1, Body: fmt.Appendf(nil,
				`{"provider":"jpush","appKey":"demo","pushId":"DEMO-P-%03d","os":"ios","membershipId":%s}`, i, m)})
		}
	}
	kinds := map[string]string{} // write id → kind
	dups := 0
	want := map[string]int{} // kind → writes this run must send
	for _, push := range []struct {
		kind  string
		lines []outbound.Line
	}{{"deal", deals}, {"refund", refunds}, {"push-device", devices}} {
		res, err := ob.Accept(ctx, source, push.kind, push.lines)
		if err != nil {
			return fmt.Errorf("demo outbound: %w", err)
		}
		for _, r := range res {
			if r.ID == "" {
				return fmt.Errorf("demo outbound: %s line %d rejected: %s %s", push.kind, r.Line, r.Field, r.Error)
			}
			kinds[r.ID] = push.kind
			if r.Duplicate {
				dups++
			} else {
				want[push.kind]++
			}
		}
	}
	fmt.Fprintf(out, "pushed %d deals, %d refunds of them and %d push-device registrations: %d write ids (%d already stored by an earlier run: nothing stored again)\n",
		len(deals), len(refunds), len(devices), len(kinds), dups)

	ids := slices.Sorted(maps.Keys(kinds))
	states := map[string]int{}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		latest, err := ob.Store.Latests(ctx, source, ids)
		if err != nil {
			return err
		}
		clear(states)
		open := 0
		for _, id := range ids {
			e := latest[id]
			states[e.State]++
			if !outbound.Terminal(e.State) {
				open++
			}
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo outbound: %d of %d writes not settled after 2 minutes: %v", open, len(ids), states)
		}
	}
	applied := map[string]int{}
	dealAt := map[string]int64{}
	late := 0
	for _, w := range sim.sim.DMHub.Writes() {
		applied[w.Kind]++
		switch w.Kind {
		case "deal":
			dealAt[w.OrderNo] = w.Seq
		case "refund":
			if at, ok := dealAt[w.OrderNo]; !ok || at > w.Seq {
				late++
			}
		}
	}
	var parts []string
	for _, k := range []string{"deal", "refund", "push-device"} {
		parts = append(parts, fmt.Sprintf("%s %d", k, applied[k]))
	}
	fmt.Fprintf(out, "outbound writes: %d succeeded, %d dead; this run's simulated vendor applied %s; refunds before their deal: %d\n",
		states[outbound.StateSucceeded], states[outbound.StateDead], strings.Join(parts, ", "), late)
	if states[outbound.StateDead] > 0 || late > 0 {
		return fmt.Errorf("demo outbound: %d dead writes, %d refunds before their deal", states[outbound.StateDead], late)
	}
	if !maps.Equal(applied, want) {
		return fmt.Errorf("demo outbound: the vendor applied %v, want each new write once: %v", applied, want)
	}
	return nil
}
