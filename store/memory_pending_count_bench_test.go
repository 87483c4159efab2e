package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// fillPendingCounts gives a memory store a million users with a receipt
// each, the first pending of them a pending delivery of one of 200
// follow-ups each (in turn, due in turn), and returns it with the IDs of
// the first 20 follow-ups: what the campaigns page shows.
func fillPendingCounts(b *testing.B, pending int) (*Memory, []string) {
	b.Helper()
	const users, followUps, shown = 1_000_000, 200, 20
	ctx := context.Background()
	t0 := time.Unix(1e9, 0).UTC()
	m := NewMemory()
	ops := make([]Op, 0, 1024)
	for first := 0; first < users; first += cap(ops) {
		ops = ops[:0]
		for i := first; i < min(users, first+cap(ops)); i++ {
			due := t0.Add(time.Duration(i) * time.Second)
			id := fmt.Sprintf("follow-up-%03d", i%followUps)
			ops = append(ops, Op{UserID: fmt.Sprint("usr_", i*7919+100000000000000), Now: t0, Fn: func(u *UserState, _ bool) {
				u.SetReceipt(Receipt{CampaignID: "newsletter", At: t0})
				if i < pending {
					p := u.NewPending()
					p.ID, p.CampaignID, p.Trigger.Time = fmt.Sprint("d", i), id, t0
					p.DueAt, p.ReadyAt = due, due
					u.Pending = append(u.Pending, p)
				}
			}})
		}
		if err := m.UpdateBatch(ctx, "", ops); err != nil {
			b.Fatal(err)
		}
	}
	ids := make([]string, shown)
	for i := range ids {
		ids[i] = fmt.Sprintf("follow-up-%03d", i)
	}
	return m, ids
}

// BenchmarkCampaignsPagePendingCounts times what the dashboard's campaigns
// page asks a memory store of a million users for, with a million pending
// deliveries over 200 follow-ups or a thousand, 20 follow-ups shown: the
// first 10,000 deliveries of every follow-up's, in due order, 1,000 a call
// (ListPending), as the page did before it had CampaignPendingCount; or
// each shown follow-up's count up to 10,001 (CampaignPendingCount). One op
// is one page load.
func BenchmarkCampaignsPagePendingCounts(b *testing.B) {
	ctx := context.Background()
	for _, pending := range []int{1_000_000, 1_000} {
		m, ids := fillPendingCounts(b, pending)
		b.Run(fmt.Sprint(pending, "_pending/ListPending"), func(b *testing.B) {
			for b.Loop() {
				q := PendingQuery{Limit: MaxPendingPage}
				for seen := 0; seen < 10_000; {
					cs, err := m.ListPending(ctx, "", q)
					if err != nil {
						b.Fatal(err)
					}
					if seen += len(cs); len(cs) < q.Limit {
						break
					}
					last := cs[len(cs)-1].Pending
					q.AfterDue, q.AfterID = last.DueAt, last.ID
				}
			}
		})
		b.Run(fmt.Sprint(pending, "_pending/CampaignPendingCount"), func(b *testing.B) {
			for b.Loop() {
				for _, id := range ids {
					if n, err := m.CampaignPendingCount(ctx, "", id, 10_001); err != nil || n != int64(pending/200) {
						b.Fatal(n, err)
					}
				}
			}
		})
	}
}
