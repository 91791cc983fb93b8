package jobs_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs/webhooks"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

const webhookTestSecret = "whsec-integration-0123456789"

// memberCouponFacts is what member_coupons must hold of the simulator's
// coupons: code, member, definition, status (normalized and vendor's),
// start date, draw and redeem times.
func memberCouponFacts(sim *vendorsim.DMHub) []string {
	var out []string
	for _, m := range sim.Members() {
		for _, c := range sim.MemberCoupons(m.ID) {
			st, ok := dmCouponStatus[c.Status]
			if !ok {
				st = "unknown"
			}
			red := "-"
			if c.DateRedeem != nil {
				red = c.DateRedeem.UTC().Format(time.RFC3339)
			}
			out = append(out, fmt.Sprintf("%s %s %s %s %s %s %s %s", c.Code, m.ID, c.CouponID, st, c.Status, c.StartDate,
				c.DateDraw.UTC().Format(time.RFC3339), red))
		}
	}
	return sorted(out)
}

func (b *bundle) memberCouponRows(t *testing.T) []string {
	return b.set(t, "SELECT concat(coupon_code, ' ', member_id, ' ', coupon_id, ' ', status, ' ', vendor_status, ' ', start_date, ' ', "+
		"formatDateTime(assumeNotNull(drawn_at), '%Y-%m-%dT%H:%M:%SZ'), ' ', "+
		"if(isNull(redeemed_at), '-', formatDateTime(assumeNotNull(redeemed_at), '%Y-%m-%dT%H:%M:%SZ'))) "+
		"FROM "+b.q("member_coupons_latest")+" WHERE source = 'acme-dmhub'")
}

// memberLevelFacts is the members' level and lastUpdated, the fields a
// level event changes.
func memberLevelFacts(sim *vendorsim.DMHub) []string {
	var out []string
	for _, m := range sim.Members() {
		out = append(out, fmt.Sprintf("%s %s %s %d %s", m.ID, m.LevelID, m.LevelName, m.LevelPriority,
			m.LastUpdated.UTC().Truncate(time.Second).Format(time.RFC3339)))
	}
	return sorted(out)
}

func (b *bundle) memberLevelRows(t *testing.T) []string {
	return b.set(t, "SELECT concat(member_id, ' ', level_id, ' ', level_name, ' ', toString(assumeNotNull(level_priority)), ' ', "+
		"formatDateTime(assumeNotNull(last_updated), '%Y-%m-%dT%H:%M:%SZ')) FROM "+b.q("members_latest")+" WHERE source = 'acme-dmhub'")
}

func same(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// TestWebhooksKeepTablesEqualWithoutPolling is issue 13's judge: after an
// initial sync, the simulated DM Hub pushes signed webhooks for 200 coupon
// draws and redemptions and 50 level changes (with redeliveries and
// forged calls); member_coupons and members equal the simulator's data
// within seconds with no polling run; forged calls are refused (401) and
// change nothing; a redelivered event is stored and applied once. The
// next polling pass then agrees (and corrects a change whose push was
// lost).
func TestWebhooksKeepTablesEqualWithoutPolling(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 120, sourceYML: "    webhook_secret: " + webhookTestSecret})
	for _, r := range b.sync(t, connectors.Full, "members", "coupons", "member_coupons", "levels") {
		if r.Status != warehouse.RunSucceeded {
			t.Fatalf("initial sync %s: %s %s", r.Stream, r.Status, r.Error)
		}
	}
	runsBefore := b.count(t, "SELECT count() FROM "+b.q("sync_runs")+" FINAL")

	// serve's intake, as `serve` mounts it
	w := b.engine.NewWebhooks(b.rdb)
	t.Cleanup(w.Close)
	mux := http.NewServeMux()
	(&webhooks.HTTP{W: w}).Routes(mux)
	intake := httptest.NewServer(mux)
	t.Cleanup(intake.Close)
	sim := b.sim.DMHub
	sim.SetWebhooks(vendorsim.DMHubWebhooks{URL: intake.URL + "/v1/webhooks/acme-dmhub", Secret: webhookTestSecret,
		RedeliverRate: 0.1, ForgeRate: 0.05, RetryInterval: 200 * time.Millisecond})
	sim.ResetRequests()

	// 200 coupon events (draws, dispatches, redemptions) and 50 level
	// changes (50 distinct members), interleaved
	rng := rand.New(rand.NewPCG(13, 13))
	members := sim.Members()
	var redeemable []string
	for _, c := range sim.AllMemberCoupons() {
		if c.Status != "used" {
			redeemable = append(redeemable, c.Code)
		}
	}
	levelMembers := rng.Perm(len(members))[:50]
	coupons, levels := 0, 0
	for coupons < 200 || levels < 50 {
		if levels < 50 && (coupons >= 200 || rng.IntN(5) == 0) {
			if _, err := sim.ChangeLevel(members[levelMembers[levels]].ID, rng.IntN(2) == 0); err != nil {
				t.Fatal(err)
			}
			levels++
			continue
		}
		m := members[rng.IntN(len(members))]
		switch k := rng.IntN(10); {
		case k < 4 || len(redeemable) == 0:
			mc, err := sim.DrawCoupon(m.ID)
			if err != nil {
				t.Fatal(err)
			}
			redeemable = append(redeemable, mc.Code)
		case k < 5:
			mc, err := sim.DispatchCoupon(m.ID)
			if err != nil {
				t.Fatal(err)
			}
			redeemable = append(redeemable, mc.Code)
		default:
			i := rng.IntN(len(redeemable))
			code := redeemable[i]
			redeemable = append(redeemable[:i], redeemable[i+1:]...)
			if _, err := sim.RedeemCoupon(code); err != nil {
				t.Fatal(err)
			}
		}
		coupons++
	}
	changed := time.Now()
	wantCoupons, wantLevels := memberCouponFacts(sim), memberLevelFacts(sim)

	// equal within seconds, with no polling run (the bound is generous for
	// a loaded machine; the time taken is logged)
	deadline := changed.Add(120 * time.Second)
	var gotCoupons, gotLevels []string
	for {
		gotCoupons, gotLevels = b.memberCouponRows(t), b.memberLevelRows(t)
		if same(gotCoupons, wantCoupons) && same(gotLevels, wantLevels) {
			break
		}
		if time.Now().After(deadline) {
			diffSets(t, "member_coupons", gotCoupons, wantCoupons)
			diffSets(t, "members (level, last_updated)", gotLevels, wantLevels)
			t.Fatalf("the pushed changes did not reach the warehouse within %s", deadline.Sub(changed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("250 changes pushed: member_coupons and members equal the simulator %.1fs after the last change",
		time.Since(changed).Seconds())
	equalMembers(t, b) // every field of every member, not only the level
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sim.WaitWebhooks(ctx); err != nil {
		t.Fatalf("pushes still pending: %v", err)
	}

	// no polling: no run started, the member list was never read
	if n := b.count(t, "SELECT count() FROM "+b.q("sync_runs")+" FINAL"); n != runsBefore {
		t.Errorf("sync_runs grew from %d to %d: a polling run happened", runsBefore, n)
	}
	if n := sim.Requests()["membership.list"]; n != 0 {
		t.Errorf("the member list was read %d times after the initial sync", n)
	}

	// every event processed (its processed version lands after its rows)
	for {
		pending := b.count(t, "SELECT count() FROM (SELECT processed_at FROM "+b.q("webhook_events")+" FINAL) WHERE isNull(processed_at)")
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still unprocessed", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// what was pushed
	genuine := map[string]bool{} // event ids of the genuine pushes
	var forged, redelivered []vendorsim.WebhookDelivery
	for _, d := range sim.WebhookDeliveries() {
		env, err := webhooks.Decode(d.Body)
		if err != nil {
			t.Fatalf("the simulator pushed an undecodable body: %v", err)
		}
		switch {
		case d.Forged:
			forged = append(forged, d)
			if d.Status != http.StatusUnauthorized {
				t.Errorf("forged push for member %s answered %d, want 401", d.MemberID, d.Status)
			}
			if n := b.count(t, "SELECT count() FROM "+b.q("webhook_events")+" WHERE event_id = ?", env.EventID); n != 0 {
				t.Errorf("forged event %s was stored (%d rows)", env.EventID, n)
			}
		default:
			genuine[env.EventID] = true
			if d.Status != http.StatusOK {
				t.Errorf("genuine push %s answered %d (%s), want 200", d.Event, d.Status, d.Err)
			}
			if d.Redelivery {
				redelivered = append(redelivered, d)
			}
		}
	}
	if len(forged) == 0 || len(redelivered) == 0 {
		t.Fatalf("the simulator sent %d forged and %d redelivered pushes: the test proves nothing", len(forged), len(redelivered))
	}
	if len(genuine) != 250 {
		t.Errorf("%d distinct genuine events, want 250 (one per change)", len(genuine))
	}
	if n := b.count(t, "SELECT count() FROM "+b.q("webhook_events")+" WHERE payload LIKE '%\"forged\":true%'"); n != 0 {
		t.Errorf("%d forged payloads stored", n)
	}
	// one row per event after FINAL, every one applied once
	if n := b.count(t, "SELECT count() FROM "+b.q("webhook_events_latest")+" WHERE source = 'acme-dmhub' AND outcome = 'applied'"); n != uint64(len(genuine)) {
		t.Errorf("%d events applied, want %d", n, len(genuine))
	}
	if n := b.count(t, "SELECT count() FROM "+b.q("webhook_events")+" FINAL"); n != uint64(len(genuine)) {
		t.Errorf("webhook_events holds %d events after FINAL, want %d", n, len(genuine))
	}
	for _, d := range redelivered {
		env, _ := webhooks.Decode(d.Body)
		if n := b.count(t, "SELECT count() FROM "+b.q("webhook_events")+" WHERE event_id = ? AND isNotNull(processed_at)", env.EventID); n != 1 {
			t.Errorf("redelivered event %s (%s) was applied %d times, want once", env.EventID, d.Event, n)
		}
		if n := b.count(t, "SELECT count() FROM "+b.q("webhook_events")+" FINAL WHERE event_id = ?", env.EventID); n != 1 {
			t.Errorf("redelivered event %s is %d rows after FINAL, want 1", env.EventID, n)
		}
	}
	rejected, err := webhooks.RejectedCounts(ctx, b.rdb, b.cfg.Redis.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if rejected["acme-dmhub"] != int64(len(forged)) {
		t.Errorf("rejected counter = %d, want %d forged", rejected["acme-dmhub"], len(forged))
	}
	stats, err := b.wh.WebhookStats(ctx, time.Now().Add(-time.Hour), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].Received != uint64(len(genuine)) || stats[0].Applied != stats[0].Received || stats[0].Pending != 0 {
		t.Errorf("WebhookStats = %+v, want %d received and applied, none pending", stats, len(genuine))
	} else {
		t.Logf("webhook stats: %+v; %d forged (401), %d redelivered", stats[0], len(forged), len(redelivered))
	}

	// reconciliation: a change whose push is lost is corrected by the
	// next polling pass, which also proves the pushed rows (same values,
	// newer versions)
	sim.SetWebhooks(vendorsim.DMHubWebhooks{})
	lost := redeemable[0]
	if _, err := sim.RedeemCoupon(lost); err != nil {
		t.Fatal(err)
	}
	if got := b.memberCouponRows(t); same(got, memberCouponFacts(sim)) {
		t.Fatal("the warehouse already has the unpushed change: the test premise is wrong")
	}
	var verBefore uint64
	if err := b.wh.Conn().QueryRow(ctx, "SELECT max(ver) FROM "+b.q("member_coupons")).Scan(&verBefore); err != nil {
		t.Fatal(err)
	}
	for _, r := range b.sync(t, connectors.Full, "members", "member_coupons") {
		if r.Status != warehouse.RunSucceeded {
			t.Fatalf("polling pass %s: %s %s", r.Stream, r.Status, r.Error)
		}
	}
	diffSets(t, "member_coupons after polling", b.memberCouponRows(t), memberCouponFacts(sim))
	diffSets(t, "members after polling", b.memberLevelRows(t), memberLevelFacts(sim))
	if n := b.count(t, "SELECT count() FROM "+b.q("member_coupons")+" FINAL WHERE ver <= ?", verBefore); n != 0 {
		t.Errorf("%d member_coupons rows were not replaced by the polling pass's newer versions", n)
	}
}

// TestWebhookSweepAfterRedisLoss: an event stored in ClickHouse whose task
// Redis lost (here: never enqueued) is enqueued by the sweep and applied;
// a second sweep finds nothing to do.
func TestWebhookSweepAfterRedisLoss(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 20, sourceYML: "    webhook_secret: " + webhookTestSecret})
	for _, r := range b.sync(t, connectors.Full, "members", "member_coupons") {
		if r.Status != warehouse.RunSucceeded {
			t.Fatalf("initial sync %s: %s %s", r.Stream, r.Status, r.Error)
		}
	}
	sim := b.sim.DMHub
	m := sim.Members()[3]
	mc, err := sim.DrawCoupon(m.ID) // no webhook configured: nothing pushed
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"tenantId":1001,"event":"loyalty/membership_draw_coupon","membershipId":%q,"couponId":%q,"couponCode":%q}`,
		m.ID, mc.CouponID, mc.Code)
	env, err := webhooks.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.wh.InsertWebhookEvents(ctx, warehouse.WebhookEvent{Source: "acme-dmhub", Ver: 1, EventID: env.EventID,
		EventType: env.Type, MemberID: env.MemberID, CouponCode: env.CouponCode, CouponID: env.CouponID, Payload: string(env.Compact),
		ReceivedAt: time.Now().Add(-time.Minute).UTC().Truncate(time.Second)}); err != nil {
		t.Fatal(err)
	}
	w := b.engine.NewWebhooks(b.rdb)
	n, err := w.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 event enqueued", n, err)
	}
	q := "SELECT count() FROM " + b.q("member_coupons") + " FINAL WHERE coupon_code = ? AND member_id = ?"
	deadline := time.Now().Add(90 * time.Second)
	for b.count(t, q, mc.Code, m.ID) == 0 || b.count(t, "SELECT count() FROM (SELECT processed_at FROM "+b.q("webhook_events")+
		" FINAL) WHERE isNotNull(processed_at)") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the swept event was not applied")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, err := w.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("second Sweep = %d, %v; want nothing to enqueue", n, err)
	}
}
