package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// oneUser is a user holding many pending deliveries, as one receipt that
// triggers thousands of follow-ups leaves them.
const oneUser = "usr_2f8c91d04b7e4a6f9c1d"

// fillOneUser gives oneUser n pending deliveries, all due at t0, in one
// update.
func fillOneUser(tb testing.TB, m *Memory, n int, t0 time.Time) {
	tb.Helper()
	err := m.Update(context.Background(), "", oneUser, t0, Dedup{}, func(u *UserState, _ bool) {
		for i := range n {
			p := u.NewPending()
			*p = Pending{
				ID: fmt.Sprintf("d%06d", i), CampaignID: fmt.Sprint("followup_", i), Activation: 1,
				Trigger: event.Event{ID: "evt_9d1c", UserID: oneUser, Kind: event.EmailReceived, CampaignID: "original", Time: t0},
				DueAt:   t0, ReadyAt: t0,
			}
			u.Pending = append(u.Pending, p)
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// sendStep is what the engine's send path does to one claimed delivery
// under the user's lock: confirm (marked as sending) or record (removed,
// its receipt kept).
func sendStep(id string, token uint64, now time.Time, record bool) func(u *UserState, _ bool) {
	return func(u *UserState, _ bool) {
		i := u.Find(id)
		if i < 0 || u.Pending[i].Token != token {
			return
		}
		p := u.Pending[i]
		if !record {
			p.Sending = true
			p.Attempt++
			return
		}
		u.RemovePending(i)
		u.SetReceipt(Receipt{CampaignID: p.CampaignID, At: now})
	}
}

// TestOneUsersTenThousandDeliveriesAreAllSent drains one user's 10,000
// pending deliveries the way the engine sends them: claimed 1,024 at a
// time, then confirmed and recorded in batches of 32, each op an update of
// that one user. Every delivery must be sent once and the user left with a
// receipt for each. Each update costs time linear in the user's state, so
// the 20,000 updates take about a second; a store whose update compares
// every delivery with every other would need hours.
func TestOneUsersTenThousandDeliveriesAreAllSent(t *testing.T) {
	n := oneUserDeliveries
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	m := NewMemory()
	fillOneUser(t, m, n, t0)
	sent := map[string]bool{}
	var ops []Op
	for token := uint64(1); len(sent) < n; token++ {
		if token > uint64(n) {
			t.Fatalf("%d of %d sent after %d claims", len(sent), n, token)
		}
		now := t0.Add(time.Duration(token) * time.Second)
		claims, err := m.Claim(ctx, "", now, time.Minute, 1024, token)
		if err != nil {
			t.Fatal(err)
		}
		for len(claims) > 0 {
			group := claims[:min(32, len(claims))]
			claims = claims[len(group):]
			for _, record := range []bool{false, true} {
				ops = ops[:0]
				for _, c := range group {
					ops = append(ops, Op{UserID: c.UserID, Now: now, Fn: sendStep(c.Pending.ID, token, now, record)})
				}
				if err := m.UpdateBatch(ctx, "", ops); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range group {
				if sent[c.Pending.ID] {
					t.Fatalf("%s claimed twice", c.Pending.ID)
				}
				sent[c.Pending.ID] = true
			}
		}
	}
	u, err := m.User(ctx, "", oneUser)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Pending) != 0 || len(u.Receipts) != n {
		t.Fatalf("%d pending and %d receipts left, want 0 and %d", len(u.Pending), len(u.Receipts), n)
	}
}

// BenchmarkOneUserUpdate measures one update of a user holding 100, 1,000
// or 10,000 pending deliveries: the engine's confirm, then its record of
// a sent delivery, which a new delivery replaces (the user keeps n). One
// op is the two updates. ns/pending is ns/op divided by n: flat when the
// cost is linear in the user's state.
func BenchmarkOneUserUpdate(b *testing.B) {
	for _, n := range []int{100, 1000, 10_000} {
		b.Run(fmt.Sprint("pending=", n), func(b *testing.B) {
			ctx := context.Background()
			t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			m := NewMemory()
			fillOneUser(b, m, n, t0.Add(time.Hour))
			next := n
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("d%06d", i)
				_ = m.Update(ctx, "", oneUser, t0, Dedup{}, sendStep(id, 0, t0, false))
				_ = m.Update(ctx, "", oneUser, t0, Dedup{}, func(u *UserState, _ bool) {
					sendStep(id, 0, t0, true)(u, false)
					p := u.NewPending()
					*p = Pending{ID: fmt.Sprintf("d%06d", next), CampaignID: "followup_0", Activation: 1,
						Trigger: event.Event{UserID: oneUser, Kind: event.EmailReceived, CampaignID: "original", Time: t0},
						DueAt:   t0.Add(time.Hour), ReadyAt: t0.Add(time.Hour)}
					u.Pending = append(u.Pending, p)
				})
				next++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/pending")
		})
	}
}

// TestManyDeliveriesOfOneUserKeepEverything checks a user holding more
// deliveries than the compact form is kept for: claims are stored, copies
// handed out do not alias the store, a campaign whose name only such
// deliveries carry is cancelled, and the user's deliveries go back to
// few and many again without losing one.
func TestManyDeliveriesOfOneUserKeepEverything(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	m := NewMemory()
	add := func(campaign string, from, n int) {
		t.Helper()
		err := m.Update(ctx, "", oneUser, t0, Dedup{}, func(u *UserState, _ bool) {
			for i := from; i < from+n; i++ {
				p := u.NewPending()
				*p = Pending{ID: fmt.Sprintf("%s-%03d", campaign, i), CampaignID: campaign, Activation: 1,
					Trigger: event.Event{UserID: oneUser, Kind: event.CustomEvent, Name: "n", Properties: map[string]any{"i": i}, Time: t0},
					DueAt:   t0.Add(time.Duration(i) * time.Minute), ReadyAt: t0.Add(time.Duration(i) * time.Minute)}
				u.Pending = append(u.Pending, p)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := func() []string {
		t.Helper()
		u, err := m.User(ctx, "", oneUser)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range u.Pending {
			out = append(out, p.ID)
		}
		return out
	}
	add("only_many_a", 0, 20)
	add("only_many_b", 0, 20)
	claims, err := m.Claim(ctx, "", t0.Add(5*time.Minute), time.Hour, 100, 7)
	if err != nil || len(claims) != 12 { // 0 to 5 minutes, of both campaigns
		t.Fatalf("claimed %d (%v), want 12", len(claims), err)
	}
	u, _ := m.User(ctx, "", oneUser)
	leased := 0
	for _, p := range u.Pending {
		if p.Token == 7 {
			leased++
			if !p.ReadyAt.Equal(t0.Add(5*time.Minute + time.Hour)) {
				t.Fatalf("%s leased until %v", p.ID, p.ReadyAt)
			}
		}
		p.Attempt = 99 // a copy: the store must not see it
	}
	if leased != 12 {
		t.Fatalf("%d deliveries hold the lease, want 12", leased)
	}
	again, _ := m.User(ctx, "", oneUser)
	for _, p := range again.Pending {
		if p.Attempt != 0 {
			t.Fatalf("%s: a change to a copy reached the store", p.ID)
		}
	}
	cancelled, err := m.CancelCampaign(ctx, "", "only_many_b")
	if err != nil || len(cancelled) != 20 {
		t.Fatalf("cancelled %d (%v), want 20", len(cancelled), err)
	}
	// Down to two, then many again: every delivery is kept, in order.
	err = m.Update(ctx, "", oneUser, t0, Dedup{}, func(u *UserState, _ bool) { u.Pending = u.Pending[18:] })
	if err != nil {
		t.Fatal(err)
	}
	add("only_many_a", 100, 30)
	got := ids()
	if len(got) != 32 || got[0] != "only_many_a-018" || got[2] != "only_many_a-100" || got[31] != "only_many_a-129" {
		t.Fatalf("deliveries %v", got)
	}
	next, ok, err := m.NextDue(ctx, "")
	if err != nil || !ok || !next.Equal(t0.Add(18*time.Minute)) {
		t.Fatalf("NextDue = %v, %v, %v; want minute 18", next, ok, err)
	}
}
