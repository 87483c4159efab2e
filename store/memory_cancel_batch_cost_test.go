package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
)

// BenchmarkCancelCampaignSparse cancels a follow-up's pending deliveries
// in a namespace of 1,000,000 users (each with a delivery of another
// campaign), in batches of 1,000 or with CancelCampaign: with 1,000
// pending, and with 100,000.
func BenchmarkCancelCampaignSparse(b *testing.B) {
	const users = 1_000_000
	for _, pending := range []int{1000, 100_000} {
		for _, batched := range []bool{true, false} {
			b.Run(fmt.Sprintf("pending=%d/batched=%v", pending, batched), func(b *testing.B) {
				ctx := context.Background()
				m := NewMemory()
				t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
				fill := func(campaign string, every int) {
					var ops []Op
					for i := 0; i < users; i += every {
						user := fmt.Sprintf("user%07d", i)
						ops = append(ops, Op{UserID: user, Now: t0, Fn: func(u *UserState, _ bool) {
							p := u.NewPending()
							*p = Pending{ID: campaign + "-" + user, CampaignID: campaign, Activation: 1,
								Trigger: event.Event{ID: "e-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "orig", Time: t0},
								DueAt:   t0.Add(time.Hour), ReadyAt: t0.Add(time.Hour)}
							u.Pending = append(u.Pending, p)
						}})
						if len(ops) == 1000 {
							if err := m.UpdateBatch(ctx, "", ops); err != nil {
								b.Fatal(err)
							}
							ops = ops[:0]
						}
					}
					if err := m.UpdateBatch(ctx, "", ops); err != nil {
						b.Fatal(err)
					}
				}
				fill("other", 1)
				for b.Loop() {
					b.StopTimer()
					fill("f", users/pending)
					b.StartTimer()
					n := 0
					if batched {
						for cursor := ""; ; {
							removed, next, err := m.CancelCampaignBatch(ctx, "", "f", cursor, 1000)
							if err != nil {
								b.Fatal(err)
							}
							n += len(removed)
							if next == "" {
								break
							}
							cursor = next
						}
					} else {
						removed, err := m.CancelCampaign(ctx, "", "f")
						if err != nil {
							b.Fatal(err)
						}
						n = len(removed)
					}
					if n != pending {
						b.Fatalf("removed %d, want %d", n, pending)
					}
				}
			})
		}
	}
}
