package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// pendingCountUsers is how many users, each with one pending delivery,
// the namespace of BenchmarkPendingCount holds.
const pendingCountUsers = 200_000

// What the pending deliveries gauge costs at each metric collection, on a
// namespace of 200,000 users with a pending delivery each: Stats, which
// counts the users, campaigns and interactions too, against PendingCount.
// Each run fills its own database first and times Stats, then
// PendingCount (-count repeats each in turn on the same fill): for
// interleaved rounds, run the command several times:
//
//	go test ./store/sqlite -run '^$' -bench PendingCount -benchmem -benchtime 20x -timeout 0
func BenchmarkPendingCount(b *testing.B) {
	s := openStore(b, testPath(b))
	ctx := context.Background()
	const ns = "bench"
	fillPending(b, s, ns, pendingCountUsers)
	b.Run("Stats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st, err := s.Stats(ctx, ns)
			if err != nil || st.Pending != pendingCountUsers {
				b.Fatal(st, err)
			}
		}
	})
	b.Run("PendingCount", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n, err := s.PendingCount(ctx, ns)
			if err != nil || n != pendingCountUsers {
				b.Fatal(n, err)
			}
		}
	})
}

// fillPending gives users users of ns a receipt and a pending delivery
// each, as tracking their triggers would, in batches of 1,000.
func fillPending(tb testing.TB, s store.BatchUpdater, ns string, users int) {
	tb.Helper()
	ctx := context.Background()
	const batch = 1000
	ops := make([]store.Op, 0, batch)
	for first := 0; first < users; first += batch {
		ops = ops[:0]
		for i := first; i < min(first+batch, users); i++ {
			user := fmt.Sprintf("user-%08d-5f0c2a9e", i)
			at := t0.Add(time.Duration(i) * time.Millisecond)
			ev := event.Event{ID: fmt.Sprintf("ev-%d", i), UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter",
				Time: at, Properties: map[string]any{"plan": "pro"}}
			ops = append(ops, store.Op{UserID: user, Now: at, Fn: func(u *store.UserState, _ bool) {
				u.SetReceipt(store.Receipt{CampaignID: "newsletter", At: at})
				u.Pending = append(u.Pending, &store.Pending{ID: ev.ID + "-resend", CampaignID: "resend", Activation: 1,
					Trigger: ev, DueAt: at.Add(time.Hour), ReadyAt: at.Add(time.Hour)})
			}})
		}
		if err := s.UpdateBatch(ctx, ns, ops); err != nil {
			tb.Fatal(err)
		}
	}
}
